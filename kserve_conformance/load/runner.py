"""Start N worker processes, release them at one instant, merge what they measured.

Workers are separate interpreters (``python -m kserve_conformance.load.attack``), not forks of
pytest: the generator must not share a GIL or an event loop with the suite or the local target.
Each worker takes every N-th slot of one global schedule, so together they send at exactly
``rate`` and their histograms merge into one.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable

from kserve_conformance.errors import SetupError
from kserve_conformance.load.attack import LoadSpec
from kserve_conformance.load.results import LoadResult

START_DELAY_NS = 200_000_000  # from "all ready" to the first request: every worker is waiting by then
READY_TIMEOUT_S = 60.0


def run_load(spec: LoadSpec, progress: Callable[[str], None] = lambda _: None) -> LoadResult:
    if spec.rate <= 0 or spec.duration_s <= 0 or spec.workers < 1:
        raise SetupError(f"invalid load: rate {spec.rate:g}/s, duration {spec.duration_s:g}s, "
                         f"{spec.workers} workers", "use --load-rate > 0, --load-duration > 0, --load-workers >= 1")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "kserve_conformance.load.attack"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(spec.workers)]
    try:
        for worker, proc in enumerate(procs):
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"spec": spec.to_json(), "worker": worker}) + "\n")
            proc.stdin.flush()
        for proc in procs:
            line = _read_line(proc, READY_TIMEOUT_S)
            if line.strip() != "ready":
                raise SetupError(f"load worker did not start (exit {proc.poll()}): {line.strip()!r}",
                                 "check that aiohttp and hdrhistogram import in this environment")
        start_ns = time.monotonic_ns() + START_DELAY_NS  # CLOCK_MONOTONIC is shared by all processes
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_ns}\n")
            proc.stdin.flush()
        progress(f"load: {spec.rate:g} req/s for {spec.duration_s:g}s from {spec.workers} worker(s) → "
                 f"{spec.target.method} {spec.target.url}")
        budget = spec.duration_s + spec.timeout_s + READY_TIMEOUT_S
        results = [json.loads(_read_line(proc, budget)) for proc in procs]
        for proc in procs:
            proc.wait(timeout=10)
        return LoadResult.merge(spec, results)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


def _read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """One line from a worker, or a clear error if it dies or hangs."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise SetupError(f"load worker gave no answer within {timeout_s:.0f}s", "see its stderr above")
    line = proc.stdout.readline()
    if not line:
        raise SetupError(f"load worker exited with code {proc.wait()}", "see its stderr above")
    return line
