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
from functools import partial
from typing import Any, Protocol

from kserve_conformance.checks.validity import server_waiting
from kserve_conformance.errors import SetupError
from kserve_conformance.load.attack import LoadSpec
from kserve_conformance.load.progress import FIGURES, Progress
from kserve_conformance.load.results import LoadResult
from kserve_conformance.timeouts import DEFAULT

WORKER_MODULE = "kserve_conformance.load.attack"  # a benchmark may point it at another worker to compare
START_DELAY_NS = 200_000_000  # from "all ready" to the first request: every worker is waiting by then
READY_TIMEOUT_S = DEFAULT.load_worker_ready_s


def run_load(
    spec: LoadSpec, progress: Callable[[str], None] = lambda _: None, server_pid: int | None = None
) -> LoadResult:
    """Run the load; where the target is a process tree on this machine (``server_pid``, the local
    target), its processes' CPU wait is sampled throughout, so the verdict can tell a late answer
    the machine caused from one the target did (``slo.judge``)."""
    if spec.rate <= 0 or spec.duration_s <= 0 or spec.workers < 1:
        raise SetupError(
            f"invalid load: rate {spec.rate:g}/s, duration {spec.duration_s:g}s, {spec.workers} workers",
            "use --kserve-load-rate > 0, --kserve-load-duration > 0, --kserve-load-workers >= 1",
        )
    with server_waiting(server_pid) as waits:
        results = run_workers(
            WORKER_MODULE,
            "load worker",
            spec.to_json(),
            spec.workers,
            spec.duration_s + spec.timeout_s,
            f"load: {spec.rate:g} req/s for {spec.duration_s:g}s from {spec.workers} worker(s) → "
            f"{spec.target.method} {spec.target.url}",
            progress,
            partial(Progress, FIGURES["classic"], spec, progress),
        )
    result = LoadResult.merge(spec, results)
    result.server_wait = waits
    return result


def run_workers(
    module: str,
    what: str,
    spec: dict[str, Any],
    workers: int,
    run_s: float,
    announce: str,
    say: Callable[[str], None],
    progress: Callable[[float], ProgressSink],
) -> list[dict[str, Any]]:
    """Start ``workers`` processes of ``module``, start them together, and return their results.

    The protocol both workers speak: the spec and the worker's index as one JSON line on stdin;
    ``ready`` back; then one start time (CLOCK_MONOTONIC, which all processes share) a little
    ahead, so every worker is waiting when the first request is due; progress lines and at last
    the result as JSON lines. Once the start time is sent, ``announce`` is said and
    ``progress(seconds_until_start)`` gives where the progress lines go. The workers have ``run_s``
    (the load and its last request's timeout) after they are ready; whatever happens, no worker
    outlives this call.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", module, "--parent-pid", str(os.getpid())]
    procs = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(workers)
    ]
    try:
        for worker, proc in enumerate(procs):
            assert proc.stdin is not None
            doc = {"spec": spec, "worker": worker, "progress_s": DEFAULT.load_progress_s}
            proc.stdin.write(json.dumps(doc) + "\n")
            proc.stdin.flush()
        for proc in procs:
            line = read_line(proc, READY_TIMEOUT_S)
            if line.strip() != "ready":
                raise SetupError(
                    f"{what} did not start (exit {proc.poll()}): {line.strip()!r}",
                    "see its stderr above; check that hdrhistogram imports in this environment",
                )
        start_ns = time.monotonic_ns() + START_DELAY_NS
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_ns}\n")
            proc.stdin.flush()
        say(announce)
        results = collect(procs, run_s + READY_TIMEOUT_S, progress((start_ns - time.monotonic_ns()) / 1e9))
        for proc in procs:
            proc.wait(timeout=DEFAULT.load_worker_exit_s)
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


class ProgressSink(Protocol):
    def update(self, worker: int, doc: dict[str, Any]) -> None: ...


def collect(procs: list[subprocess.Popen[str]], timeout_s: float, progress: ProgressSink) -> list[dict[str, Any]]:
    """Each worker's result line, passing its progress lines on as they come (classic and LLM workers)."""
    results: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while len(results) < len(procs):
        for worker, proc in enumerate(procs):
            if worker in results:
                continue
            doc = json.loads(read_line(proc, max(0.0, deadline - time.monotonic())))
            if "progress" in doc:
                progress.update(worker, doc["progress"])
            else:
                results[worker] = doc
    return [results[w] for w in range(len(procs))]


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
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
