"""Start N LLM load workers, release them at one instant, merge what they measured.

The same protocol and the same reasons as ``load/runner.py`` (separate interpreters, one global
schedule, one start time on the shared monotonic clock); only the worker module and the result
differ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from kserve_conformance.checks.validity import server_waiting
from kserve_conformance.errors import SetupError
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.spec import ARRIVALS, KINDS, LLMLoadSpec
from kserve_conformance.load.progress import FIGURES, Progress
from kserve_conformance.load.runner import run_workers


def run_llm_load(
    spec: LLMLoadSpec,
    progress: Callable[[str], None] = lambda _: None,
    records_dir: Path | None = None,
    server_pid: int | None = None,
) -> LLMResult:
    """Run the load; each worker's per-request JSONL goes to ``records_dir`` (a temporary one if None).

    ``server_pid``: where the target is a process tree on this machine (the local target), its
    processes' CPU wait is sampled throughout, for the verdict (``slo.judge``)."""
    if spec.rate <= 0 or spec.duration_s <= 0 or spec.workers < 1 or spec.arrival not in ARRIVALS:
        raise SetupError(
            f"invalid LLM load: rate {spec.rate:g}/s, duration {spec.duration_s:g}s, {spec.workers} workers, "
            f"arrival {spec.arrival}",
            "use --kserve-llm-load-rate > 0, --kserve-llm-load-duration > 0, --kserve-load-workers >= 1",
        )
    if spec.kind not in KINDS:
        raise SetupError(f"invalid LLM load kind {spec.kind!r}", f"one of {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="kserve-llm-load-") as tmp:
        where = records_dir or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for old in where.glob("worker-*.jsonl"):
            old.unlink()
        return _run(replace(spec, records_dir=str(where)), progress, where, server_pid)


def _run(spec: LLMLoadSpec, progress: Callable[[str], None], records_dir: Path, server_pid: int | None) -> LLMResult:
    with server_waiting(server_pid) as waits:
        results = run_workers(
            "kserve_conformance.load.llm.worker",
            "LLM load worker",
            spec.to_json(),
            spec.workers,
            spec.duration_s + spec.timeout_s,
            f"llm-load: {spec.rate:g} streams/s ({spec.arrival}) for {spec.duration_s:g}s from {spec.workers} "
            f"worker(s) → POST {spec.url}, max_tokens {spec.max_tokens}",
            progress,
            partial(Progress, FIGURES["llm"], spec, progress),
        )
    result = LLMResult.merge(spec, results, records_dir)
    result.server_wait = waits
    return result
