"""Stopping the local target leaves nothing behind, even when a Ctrl-C interrupts the stop."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kserve_conformance.providers.local import LocalTargetProcess


class InterruptedWait(subprocess.Popen[bytes]):
    """A process whose first wait is interrupted, as a second Ctrl-C interrupts the suite's stop."""

    interrupted = False

    def wait(self, timeout: float | None = None) -> int:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return super().wait(timeout)


def target_ignoring_sigterm() -> tuple[LocalTargetProcess, Path]:
    tmp = tempfile.TemporaryDirectory(prefix="kserve-conformance-local-")
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    process: Any = InterruptedWait(["python3", "-c", script], start_new_session=True, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # SIGTERM is ignored from here on
    process.stdout.close()
    target = LocalTargetProcess(state_dir=Path(tmp.name), process=process, _tmp=tmp)
    return target, Path(tmp.name)


def test_an_interrupted_stop_still_kills_the_target_and_removes_its_state() -> None:
    target, state = target_ignoring_sigterm()
    process = target.process
    assert process is not None
    with pytest.raises(KeyboardInterrupt):
        target.stop()
    assert process.poll() is not None, "the target outlived an interrupted stop"
    assert not state.exists(), f"an interrupted stop left {state}"


def test_a_model_server_the_target_left_behind_is_killed_with_its_group() -> None:
    """The target exits on SIGTERM, but a child of its group (as a vLLM engine process) lives on."""
    import psutil

    script = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print(child.pid, flush=True); time.sleep(60)"
    )
    process = subprocess.Popen(["python3", "-c", script], start_new_session=True, stdout=subprocess.PIPE)
    assert process.stdout is not None
    child = psutil.Process(int(process.stdout.readline()))
    process.stdout.close()
    try:
        LocalTargetProcess(state_dir=Path(tempfile.mkdtemp()), process=process).stop()
        _, alive = psutil.wait_procs([child], timeout=10)  # a SIGKILL is delivered, not yet acted on
        alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"the target's child {child.pid} outlived the stop"
    finally:
        for proc in [child]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
