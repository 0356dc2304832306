"""The LLM load engine against the known-timing target: exact counts, and the fidelity figures.

The counts are asserted (every stream the generator says it sent, the server received; every
token it streamed, the generator counted); the timings are only printed (suite minus the server's
truth), never asserted: this machine is shared, and ``bench/llm_load_fidelity.py`` measures them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from kserve_conformance.load.llm.reports import write_all
from kserve_conformance.load.llm.runner import run_llm_load
from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import fidelity, known_target, run

pytestmark = pytest.mark.serial


@pytest.mark.parametrize("kind", ["completions", "chat"])
def test_counts_are_exact_and_the_reports_are_written(tmp_path: Path, kind: str) -> None:
    result, server = run(Timing(ttft_ms=20, itl_ms=10), records=tmp_path / "records", kind=kind)
    print(f"\n{kind}: {fidelity(result, server)}")
    assert result.sent == server["requests"] == 100
    assert result.outcomes == {"ok": 100}, result.summary_line()
    assert result.output_tokens == server["tokens"] == 3200
    assert result.content_chunks == 3200, "a chat stream's role-only chunk is not content"
    assert result.hist["itl"].get_total_count() == server["itl_us"]["count"] == 3100
    assert len(result.records) == 100 and [r["i"] for r in result.records] == list(range(100))
    judgement = judge(result, LLMSLO())
    defects = [v for v in judgement.violations if "buffered" in v or "usage" in v or "error rate" in v]
    assert defects == [], defects  # (goodput is left to the machine: it is shared, and timing is not asserted)
    files = write_all(result, LLMSLO(), judgement, tmp_path / "out", kind)
    summary = json.loads(files["summary.json"].read_text())
    for name in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"):
        assert set(summary[name]) >= {"p50", "p90", "p99", "max"}, name
    assert summary["requests"] == {"sent": 100, "ok": 100, "errors": 0, "outcomes": {"ok": 100}}
    assert summary["output_tokens"] == 3200 and summary["goodput"] == 1.0
    assert "role-only" in summary["definitions"]["ttft_ms"]
    assert len(files["requests.jsonl"].read_text().splitlines()) == 100
    for name in ("ttft.hlog", "itl.hlog", "llm-load.png"):
        assert files[name].stat().st_size > 0, name


def test_two_workers_split_the_schedule_and_merge_exactly() -> None:
    result, server = run(Timing(), workers=2, arrival="poisson", seed=3)
    print(f"\n2 workers, poisson: {fidelity(result, server)}")
    assert result.sent == server["requests"] == result.spec.planned
    assert result.output_tokens == server["tokens"] == 32 * result.spec.planned
    assert result.hist["ttft"].get_total_count() == result.spec.planned


def test_refused_connections_and_http_errors_are_counted_by_outcome() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again when the block ends: nothing listens there
    refused = run_llm_load(LLMLoadSpec(f"http://127.0.0.1:{port}", "m", rate=10, duration_s=1, timeout_s=5))
    assert refused.outcomes == {"connection_error": 10}, refused.summary_line()
    with known_target(Timing()) as base:
        missing = run_llm_load(LLMLoadSpec(f"{base}/nosuch", "m", rate=10, duration_s=1, timeout_s=5))
    assert missing.outcomes == {"http_404": 10}, missing.summary_line()
    assert any(e.startswith("404 Not Found") for e in missing.errors), missing.errors
    verdict = "; ".join(judge(missing, LLMSLO()).violations)
    assert "error rate 10/10 exceeds --kserve-slo-error-rate=0" in verdict and "http_404 10" in verdict, verdict
