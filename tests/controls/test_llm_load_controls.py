"""The LLM load check's negative controls: each broken stream fails the verdict, named, counted.

Against the known-timing streaming target with one fault switched on, the engine and the
judgement the check uses (``load.llm.slo.judge``) must fail on exactly that defect: 1 % of streams
stalling 500 ms before the first token (goodput, over the TTFT bound), a stream buffered and sent
at once (buffered), a ``usage`` that disagrees with what was streamed (usage disagrees), both ways;
and a generator whose receiving event loop stalls is reported invalid, not judged.
The check module itself needs an openai service (or endpoint mode with ``--kserve-protocol
openai``) to run under the suite; until then these controls judge the engine's result directly.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kserve_conformance.load.llm import worker
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import fidelity, known_target, run

pytestmark = pytest.mark.serial

SLO = LLMSLO(ttft_ms=250, tpot_ms=50)


def test_one_percent_of_streams_stalling_fails_goodput_on_ttft() -> None:
    result, server = run(Timing(stall_every=100, stall_ms=500))
    print(f"\nstall 1%: {fidelity(result, server)}")
    assert server["stalled"] == 1 and result.sent == 100
    message = "; ".join(judge(result, SLO).violations)
    found = re.search(
        r"goodput (\d+)/100 = [\d.]+ below --kserve-slo-goodput=1: (\d+) over --kserve-slo-ttft-ms=250", message
    )
    assert found, message
    assert int(found.group(2)) >= server["stalled"], message
    assert "buffered" not in message and "usage" not in message, message


def test_a_buffered_stream_fails_as_buffered() -> None:
    result, server = run(Timing(buffer=True), duration_s=2.0)
    message = "; ".join(judge(result, SLO).violations)
    # Every stream was a burst; those read as the client woke from a stall are counted apart.
    buffered, excused = result.flags["buffered"], result.flags["buffered_explained"]
    assert buffered + excused == server["requests"], result.summary_line()
    assert f"{buffered} of {result.sent} streams were buffered, not streamed" in message, message


@pytest.mark.parametrize(
    ("delta", "why"), [(-3, "29 tokens, 32 content chunks"), (3, "35 tokens, more than max_tokens 32")]
)
def test_usage_disagreeing_with_the_stream_fails_naming_it(delta: int, why: str) -> None:
    result, _ = run(Timing(usage_delta=delta), duration_s=2.0)
    message = "; ".join(judge(result, SLO).violations)
    assert (
        f"usage disagrees with what was streamed in 40 of 40 streams (first: request 0: usage says {why}" in message
    ), message
    assert "buffered" not in message, message


def test_a_healthy_stream_passes_the_same_judgement() -> None:
    """The controls' reference: without a fault the same SLOs are met."""
    result, server = run(Timing(), duration_s=2.0)
    message = "; ".join(judge(result, SLO).violations)
    assert "buffered" not in message and "usage" not in message and "error rate" not in message, message
    assert result.sent == server["requests"] == 40


def test_a_receive_side_stall_makes_the_run_invalid(tmp_path: Path) -> None:
    """The event loop blocked 300 ms between two sends: the send-side lag cannot see it, the probe must."""
    with known_target(Timing()) as base:
        spec = LLMLoadSpec(base, "known", rate=2.0, duration_s=3.0, max_tokens=32, records_dir=str(tmp_path))

        async def stalled() -> dict[str, Any]:
            loop = asyncio.get_running_loop()
            start = time.monotonic_ns() + 100_000_000
            loop.call_later(0.1 + 0.6, time.sleep, 0.3)  # 100 ms after the second send, for 300 ms
            with (tmp_path / "worker-0.jsonl").open("w") as records:
                return (await worker.run(spec, 0, start, records)).to_json()

        result = LLMResult.merge(spec, [asyncio.run(stalled())], tmp_path)
    invalid = "; ".join(judge(result, SLO).invalid)
    assert "generator receive-side event-loop stall p99" in invalid, (invalid, result.summary_line())
