"""The load phase's progress line merges every worker's counts and histogram."""

from __future__ import annotations

import json

from kserve_conformance.load.attack import LoadSpec, Recorder, Target, progress_line
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.process import new_histogram
from kserve_conformance.load.progress import FIGURES, Progress


def worker_doc(latencies_us: list[int], codes: list[int], sent: int) -> dict:
    rec = Recorder()
    for value, code in zip(latencies_us, codes, strict=True):
        rec.latency.record_value(value)
        rec.status[code] += 1
    return json.loads(progress_line(rec, sent))["progress"]


def test_progress_line_merges_workers() -> None:
    lines: list[str] = []
    spec = LoadSpec(Target("POST", "http://127.0.0.1:1/"), rate=100, duration_s=60, workers=2)
    progress = Progress(FIGURES["classic"], spec, lines.append, 0.0)
    progress.update(0, worker_doc([1000] * 99, [200] * 99, sent=100))
    assert lines == [], "one line per round, once every worker has reported"
    progress.update(1, worker_doc([1000] * 97 + [250_000] * 3, [200] * 97 + [502, 0, 200], sent=101))
    assert len(lines) == 1
    assert "of 60s, sent 201, ok 197, errors 2, p99 so far 250.111ms" in lines[0]  # HDR, 3 significant digits, lines[0]


def llm_doc(ttft_us: list[int], errors: int, tokens: int) -> dict:
    ttft = new_histogram()
    for value in ttft_us:
        ttft.record_value(value)
    ok = len(ttft_us)
    return {"sent": ok + errors, "ok": ok, "errors": errors, "tokens": tokens, "ttft": ttft.encode().decode()}


def test_the_llm_line_prints_its_own_figures() -> None:
    """The same merge, the LLM run's figures: output tokens, and TTFT's p99 ("-" before any stream succeeded)."""
    lines: list[str] = []
    spec = LLMLoadSpec(base_url="http://127.0.0.1:1", model="m", rate=2, duration_s=30, workers=2)
    progress = Progress(FIGURES["llm"], spec, lines.append, 0.0)
    progress.update(0, llm_doc([], errors=1, tokens=0))
    progress.update(1, llm_doc([], errors=0, tokens=0))
    progress.update(0, llm_doc([20_000] * 5, errors=1, tokens=160))
    progress.update(1, llm_doc([40_000] * 4, errors=0, tokens=128))
    assert lines[0].endswith("of 30s, sent 1, ok 0, errors 1, output tokens 0, TTFT p99 so far -"), lines
    assert lines[1].startswith("llm-load: ") and lines[1].endswith(
        "of 30s, sent 10, ok 9, errors 1, output tokens 288, TTFT p99 so far 40.031ms"
    ), lines
