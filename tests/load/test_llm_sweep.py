"""The sweep's rule on fake runs: rates double until the SLOs break; the highest passing rate is reported."""

from __future__ import annotations

from collections.abc import Callable

from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.slo import LLMSLO
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.llm.sweep import sweep


def fake_run(breaks_at: float) -> tuple[list[float], Callable[[LLMLoadSpec, float], LLMResult]]:
    seen: list[float] = []

    def run(spec: LLMLoadSpec, rate: float) -> LLMResult:
        seen.append(rate)
        result = LLMResult(spec)
        n = spec.planned
        ttft = 900.0 if rate >= breaks_at else 20.0
        result.records = [
            {"i": i, "outcome": "ok", "ttft_ms": ttft, "tpot_ms": 10.0, "sent_ms": i * 1000 / rate} for i in range(n)
        ]
        result.outcomes["ok"] = n
        result.output_tokens, result.first_send_ns, result.last_end_ns = 32 * n, 0, 10**9
        return result

    return seen, run


def test_rates_double_until_the_slos_break_and_the_last_passing_one_is_reported() -> None:
    seen, run = fake_run(breaks_at=8)
    found = sweep(LLMLoadSpec("http://t", "m", rate=1, duration_s=1), LLMSLO(ttft_ms=250), 6, run)
    assert seen == [1, 2, 4, 8]
    assert found.best is not None and found.best.rate == 4
    doc = found.as_json()
    assert doc["highest_rate_meeting_slos"] == 4 and doc["output_tokens_per_s_there"] == 128.0
    assert doc["steps"][-1]["verdict"] == "failed" and "goodput" in doc["steps"][-1]["why"][0]


def test_a_sweep_stops_after_its_steps_and_none_passing_is_none() -> None:
    seen, run = fake_run(breaks_at=1000)
    sweep(LLMLoadSpec("http://t", "m", rate=1, duration_s=1), LLMSLO(), 3, run)
    assert seen == [1, 2, 4]
    _, failing = fake_run(breaks_at=0)
    assert sweep(LLMLoadSpec("http://t", "m", rate=1, duration_s=1), LLMSLO(ttft_ms=250), 3, failing).best is None
