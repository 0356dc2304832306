"""The LLM load's buffering verdict on evidence a client stall cannot fake (three required cases).

A stream is *buffered* when all its content chunks arrive within 1 ms; the client reads a healthy
stream that way too when it was stalled while the tokens arrived. So a burst read as the client
woke from a stall is not evidence (``worker.excuse_burst``), and one stream never decides the run
(``slo.BUFFERED_EVIDENCE``). Against the known-timing target (1 ms between tokens):

* a healthy server while the client stalls 40 ms after every 5th send never fails;
* a gateway that buffers every stream fails, naming the count;
* a gateway that buffers one stream in ten (one replica of ten behind a buffering sidecar, as
  KServe's logger did in kserve#3809) fails too.
"""

from __future__ import annotations

import pytest

from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.worker import SEND_STALL_ENV
from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import run

pytestmark = pytest.mark.serial  # they time streams
FAST = Timing(ttft_ms=5.0, itl_ms=1.0)
SPEC = {"rate": 10.0, "duration_s": 6.0}  # 60 streams of 32 tokens, ~36 ms each
SLO = LLMSLO(max_lag_ms=1000.0)  # judged here: the buffering verdict, not the generator's lag


def buffered_violation(violations: list[str]) -> str:
    return next((v for v in violations if "buffered" in v), "")


def test_client_stalls_during_healthy_streams_never_fail_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SEND_STALL_ENV, "40/5")
    result, _ = run(FAST, **SPEC)
    judgement = judge(result, SLO)
    assert not buffered_violation(judgement.violations), (judgement.violations, result.summary_line())
    # The stalls were real and made bursts, which were excused rather than ignored.
    assert result.flags["buffered_explained"] >= 1, result.summary_line()


def test_a_gateway_buffering_every_stream_fails() -> None:
    result, server = run(Timing(ttft_ms=5.0, itl_ms=1.0, buffer=True), **SPEC)
    violation = buffered_violation(judge(result, SLO).violations)
    assert violation.startswith(f"{result.flags['buffered']} of {result.sent} streams were buffered"), violation
    # Every stream was a burst; those read as the client woke from a stall are counted apart.
    assert result.flags["buffered"] + result.flags["buffered_explained"] == server["requests"], result.summary_line()


def test_a_gateway_buffering_one_stream_in_ten_fails() -> None:
    result, _ = run(Timing(ttft_ms=5.0, itl_ms=1.0, buffer_every=10), **SPEC)
    violation = buffered_violation(judge(result, SLO).violations)
    assert violation, (result.flags, result.summary_line())
    assert 2 <= result.flags["buffered"] <= 6, result.summary_line()
