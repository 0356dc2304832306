"""A load worker never outlives the suite, even when the suite is killed with SIGKILL.

A CI runner's hard cancel gives pytest no chance to clean up; before, the worker went on
sending load for the rest of its planned duration (27 s after the kill in a 30 s run). The local
target it ran against outlived it by a poll and then left its state directory in /tmp, which only
the suite's process would have removed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.controls.test_load_controls import LOAD, _start, _wait_for_workers

GRACE_S = 5.0  # a generous bound for the assertion; the measured figure is in the report, not here
TARGET_EXIT_S = 60.0  # its parent poll (1 s), its shutdown, and the watchdog's last resort (15 s)


def test_sigkilled_suite_leaves_no_load_worker_and_no_target_state(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, *LOAD[:-2], "--kserve-load-duration=60")
    try:
        workers = _wait_for_workers(proc)
        target = next(p for p in psutil.Process(proc.pid).children(recursive=True) if "kserve_local" in p.cmdline())
        state_dir = Path(target.cmdline()[target.cmdline().index("--state-dir") + 1])
        time.sleep(1.0)  # the run is under way
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        alive = psutil.wait_procs(workers, timeout=GRACE_S)[1]
        assert not alive, f"workers alive {GRACE_S:g}s after the suite was killed: {[w.pid for w in alive]}"
        psutil.wait_procs([target], timeout=TARGET_EXIT_S)
        assert not state_dir.exists(), f"the orphaned local target left {state_dir}: {sorted(state_dir.iterdir())}"
    finally:
        for child in psutil.Process().children(recursive=True):  # the orphaned local target, if any
            if child.pid != proc.pid and "kserve_conformance" in " ".join(child.cmdline()):
                child.kill()
        if proc.stdout is not None:
            proc.stdout.close()


def test_worker_exits_when_its_parent_pid_is_gone() -> None:
    """The watchdog alone (the non-Linux path): a parent pid that is not its parent ends it."""
    child = subprocess.run(
        [sys.executable, "-m", "kserve_conformance.load.attack", "--parent-pid", "1"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert child.returncode == 3, child.stderr[-2000:]


def test_llm_worker_exits_when_its_parent_pid_is_gone() -> None:
    """The LLM load worker shares the watchdog (``load/process.py``)."""
    child = subprocess.run(
        [sys.executable, "-m", "kserve_conformance.load.llm.worker", "--parent-pid", "1"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert child.returncode == 3, child.stderr[-2000:]
