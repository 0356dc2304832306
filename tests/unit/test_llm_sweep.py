"""What a sweep's end says: its highest rate is a ceiling past an SLO break, a lower bound past an invalid run."""

from __future__ import annotations

from typing import Any, cast

import pytest

from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.sweep import Sweep, SweepStep
from kserve_conformance.load.slo import Judgement

RESULT = cast(LLMResult, object())  # stopped_by and best read only the judgements


def steps(*judged: tuple[float, list[str], list[str]]) -> Sweep:
    return Sweep([SweepStep(rate, RESULT, Judgement(invalid, broken)) for rate, invalid, broken in judged])


@pytest.mark.parametrize(
    ("sweep", "best", "stopped_by"),
    [
        (steps((2, [], []), (4, [], [])), 4, "the step limit: every one of 2 rates met the SLOs"),
        (steps((2, [], []), (4, [], ["TTFT p99 3 s"])), 2, "the SLOs breaking at 4/s (TTFT p99 3 s)"),
        (steps((2, [], []), (4, ["send lag p99 12 ms"], [])), 2, "an invalid run at 4/s (send lag p99 12 ms)"),
        (steps((2, [], ["errors 3"])), None, "the SLOs breaking at 2/s (errors 3)"),
    ],
)
def test_the_sweep_says_what_ended_it(sweep: Sweep, best: float | None, stopped_by: str) -> None:
    found: Any = sweep.best
    assert (found.rate if found else None) == best
    assert sweep.stopped_by == stopped_by
