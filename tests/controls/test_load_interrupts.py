"""Ctrl-C or SIGTERM during the load phase leaves no load worker and no namespace behind.

Not timing-sensitive (nothing is measured), so these run in CI's parallel pass, unlike the load
controls they borrow their helpers from.
"""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest

from tests.controls.test_load_controls import LOAD, _start, _wait_for_workers


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_load_leaves_no_worker_and_no_namespace(tmp_path: Path, sig: signal.Signals) -> None:
    proc, _ = _start(tmp_path, *LOAD[:-2], "--kserve-load-duration=60")
    workers = _wait_for_workers(proc)
    proc.send_signal(sig)
    output = proc.communicate(timeout=120)[0]
    gone = psutil.wait_procs(workers, timeout=5)[1]
    assert not gone, f"load workers still running after {sig.name}: {[w.pid for w in gone]}\n{output[-2000:]}"
    assert "deleted namespace" in output, output[-3000:]
