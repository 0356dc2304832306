"""Run the LLM load engine against the known-timing streaming target, in-process, and compare."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.runner import run_llm_load
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.testing.known_stream_target import Timing, serve


@contextlib.contextmanager
def known_target(timing: Timing) -> Iterator[str]:
    server, _ = serve(timing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def truth(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/stats", timeout=10) as resp:
        doc: dict[str, Any] = json.load(resp)
    return doc


def run(timing: Timing, records: Path | None = None, **spec: Any) -> tuple[LLMResult, dict[str, Any]]:
    """One load run at the given spec fields (rate 20/s, 32 tokens, 5 s unless given) and the truth."""
    with known_target(timing) as base:
        fields: dict[str, Any] = {"rate": 20.0, "duration_s": 5.0, "max_tokens": 32, **spec}
        result = run_llm_load(LLMLoadSpec(base, "known", **fields), records_dir=records)
        return result, truth(base)


def fidelity(result: LLMResult, server: dict[str, Any]) -> str:
    """Suite minus truth, per figure and percentile (ms), as one printable line."""
    parts = []
    for name in ("ttft", "itl", "tpot", "e2e"):
        ours = result.percentiles(name)
        theirs = server[f"{name}_us"]
        p50, p99 = ours["p50"] - theirs["p50"] / 1000, ours["p99"] - theirs["p99"] / 1000
        parts.append(f"{name.upper()} p50 {p50:+.3f} p99 {p99:+.3f}")
    return (
        f"suite - truth (ms): {'; '.join(parts)}; achieved {result.achieved_rate:.2f}/s; "
        f"send lag p99 {result.ms('lag', 99):.3f}ms; loop stall p99 {result.ms('stall', 99):.3f}ms"
    )
