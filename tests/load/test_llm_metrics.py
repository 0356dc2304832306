"""The LLM load definitions on synthetic event timelines: what TTFT, ITL and TPOT count, exactly.

No server and no clock: each timeline is written by hand, so a definition that drifts (a role-only
chunk ending TTFT, a multi-token chunk counted as one gap, a one-token TPOT divided by zero) fails
here with the number it got.
"""

from __future__ import annotations

from kserve_conformance.checks.validity import ServerWait
from kserve_conformance.load.llm.metrics import Chunk, Timeline, content_of, figures
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec

MS = 1_000_000


def timeline(*chunks: tuple[float, str, int], usage: int | None = None, end_ms: float = 0.0) -> Timeline:
    """Intended at 0, sent at 0.1 ms; chunks as ``(ms, content, tokens)``; [DONE] at ``end_ms``."""
    t = Timeline(0, int(0.1 * MS), [Chunk(int(at * MS), text, k) for at, text, k in chunks])
    t.status, t.done, t.usage_tokens = 200, True, usage
    t.end_ns = int((end_ms or (chunks[-1][0] if chunks else 0)) * MS)
    return t


def test_a_role_only_first_chunk_does_not_end_ttft() -> None:
    t = timeline((1.0, "", 0), (20.0, " a", 1), (30.0, " b", 1), (40.0, " c", 1), usage=3, end_ms=41.0)
    f = figures(t)
    assert f.ttft_ms == 20.0
    assert f.itl_ms == [10.0, 10.0]
    assert f.tpot_ms == (41.0 - 20.0) / 2
    assert f.e2e_ms == 41.0
    assert f.content_chunks == 3 and not f.chunks_disagree


def test_a_chunk_of_k_tokens_counts_k_gaps_of_a_kth() -> None:
    t = timeline((20.0, " a", 1), (50.0, " b c d", 3), usage=4, end_ms=50.0)
    f = figures(t)
    assert f.itl_ms == [10.0, 10.0, 10.0]
    assert f.tpot_ms == 10.0  # (50 - 20) / (4 - 1): from usage, not from the chunks
    assert f.chunks_disagree, "usage 4 != 2 chunks is reported (not a defect: a chunk may carry several tokens)"
    assert not f.usage_impossible


def test_a_one_token_output_has_no_tpot_and_no_itl() -> None:
    f = figures(timeline((25.0, "x", 1), usage=1, end_ms=26.0))
    assert f.ttft_ms == 25.0 and f.tpot_ms is None and f.itl_ms == []


def test_times_run_from_the_intended_send_not_the_actual_one() -> None:
    t = timeline((20.0, " a", 1), (30.0, " b", 1), usage=2)
    t.sent_ns = 15 * MS  # the generator was 15 ms late: that is still charged
    assert figures(t).ttft_ms == 20.0


def test_usage_that_cannot_be_true_of_the_stream_is_named() -> None:
    fewer = figures(timeline((20.0, " a", 1), (30.0, " b", 1), (40.0, " c", 1), usage=2), max_tokens=3)
    assert fewer.usage_impossible == "usage says 2 tokens, 3 content chunks were streamed"
    more = figures(timeline((20.0, " a", 1), (30.0, " b", 1), usage=5), max_tokens=3)
    assert more.usage_impossible == "usage says 5 tokens, more than max_tokens 3"
    missing = figures(timeline((20.0, " a", 1), (30.0, " b", 1)))
    assert missing.usage_missing and missing.output_tokens == 2, "the chunks are counted where usage is missing"


def test_a_stream_delivered_in_one_burst_is_buffered() -> None:
    assert figures(timeline((300.0, " a", 1), (300.2, " b", 1), (300.4, " c", 1), usage=3)).buffered
    assert not figures(timeline((20.0, " a", 1), (30.0, " b", 1), usage=2)).buffered


def test_every_outcome_is_exactly_one_label() -> None:
    broken = Timeline(0, 0, error="ClientConnectorError: refused")
    assert figures(broken).outcome == "connection_error"
    assert figures(Timeline(0, 0, error="timeout after 60s")).outcome == "timeout"
    assert figures(Timeline(0, 0, status=503, error="503")).outcome == "http_503"
    no_done = timeline((20.0, " a", 1), usage=1)
    no_done.done = False
    assert figures(no_done).outcome == "no_done"
    assert figures(timeline((1.0, "", 0), usage=0)).outcome == "no_content"
    failed = figures(Timeline(0, 0, status=503, error="503"))
    assert failed.ttft_ms is None and failed.e2e_ms is None, "failed requests carry no latency"


def test_content_is_read_from_completions_and_chat_chunks() -> None:
    assert content_of({"choices": [{"index": 0, "text": " hi"}]}) == " hi"
    assert content_of({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}) == ""
    assert content_of({"choices": [{"index": 0, "delta": {"content": " hi"}}]}) == " hi"
    assert content_of({"choices": [], "usage": {"completion_tokens": 3}}) == ""


def test_poisson_arrivals_are_seeded_and_workers_share_one_schedule() -> None:
    spec = LLMLoadSpec("http://t", "m", rate=20, duration_s=5, arrival="poisson", seed=7, workers=3)
    assert spec.schedule_ns() == spec.schedule_ns() and len(spec.schedule_ns()) == 100
    slots = sorted(s for w in range(3) for s in spec.slots(w))
    assert [t for _, t in slots] == spec.schedule_ns()
    constant = LLMLoadSpec("http://t", "m", rate=20, duration_s=1)
    assert constant.schedule_ns()[:3] == [0, 50_000_000, 100_000_000]


def record(i: int, ttft: float, tpot: float | None, outcome: str = "ok") -> dict[str, object]:
    return {"i": i, "outcome": outcome, "ttft_ms": ttft, "tpot_ms": tpot, "usage_impossible": ""}


def test_goodput_counts_each_broken_slo_exactly() -> None:
    result = LLMResult(LLMLoadSpec("http://t", "m", rate=100, duration_s=1))
    result.records = [record(i, 20.0, 10.0) for i in range(97)]
    result.records += [record(97, 600.0, 10.0), record(98, 20.0, 90.0), record(99, 0.0, None, "http_503")]
    result.outcomes.update({"ok": 99, "http_503": 1})
    judgement = judge(result, LLMSLO(ttft_ms=250, tpot_ms=50, error_rate=0.01))
    assert judgement.invalid == []
    assert judgement.violations == [
        "goodput 97/100 = 0.9700 below --kserve-slo-goodput=0.99: 1 failed; 1 over --kserve-slo-ttft-ms=250 "
        "(worst 600.000ms); 1 over --kserve-slo-tpot-ms=50 (worst 90.000ms)"
    ]


def starved_result(wait_ms: float) -> LLMResult:
    """100 streams, two over the TTFT bound by 350 ms, sent at 1 s; the target's processes waited
    ``wait_ms`` for a CPU between the samples around them (the local target's ``ServerWait``)."""
    result = LLMResult(LLMLoadSpec("http://t", "m", rate=100, duration_s=1))
    ms = 1_000_000
    result.records = [
        {**record(i, 20.0, 10.0), "intended_ns": 0, "e2e_ms": 300.0, "output_tokens": 29} for i in range(98)
    ]
    result.records += [
        {**record(98 + i, 600.0, 10.0), "intended_ns": 1000 * ms, "e2e_ms": 880.0, "output_tokens": 29}
        for i in range(2)
    ]
    result.outcomes.update({"ok": 100})
    samples = [(0, {7: 0}), (900 * ms, {7: 0}), (2000 * ms, {7: int(wait_ms * ms)})]
    result.server_wait = ServerWait(1, samples=samples)
    return result


def test_goodput_short_only_through_streams_the_target_was_starved_during_is_invalid() -> None:
    judgement = judge(starved_result(wait_ms=400), LLMSLO(ttft_ms=250, tpot_ms=50))
    assert judgement.violations == []
    assert judgement.invalid == [
        "goodput 98/100 = 0.9800 below --kserve-slo-goodput=1, but only through 2 streams that were over their "
        "TTFT/TPOT bounds by no more than the target's processes waited for a CPU while they were in flight "
        "(the machine this target shares was busy)"
    ]


def test_streams_later_than_the_targets_cpu_wait_fail_goodput() -> None:
    """The control: the target waited 300 ms, the streams were 350 ms over."""
    judgement = judge(starved_result(wait_ms=300), LLMSLO(ttft_ms=250, tpot_ms=50))
    assert judgement.invalid == []
    assert judgement.violations == [
        "goodput 98/100 = 0.9800 below --kserve-slo-goodput=1: 2 over --kserve-slo-ttft-ms=250 (worst 600.000ms)"
    ]
