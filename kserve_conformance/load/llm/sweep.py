"""Rising rates until the SLOs break: the highest rate that meets them, and tokens/s there.

The question ``vllm bench sweep`` and GuideLLM's sweep answer. Rates double from the first; the
sweep stops at the first rate whose run fails (or is invalid: beyond it the generator, not the
target, would be measured) or after ``steps`` rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.slo import Judgement


@dataclass
class SweepStep:
    rate: float
    result: LLMResult
    judgement: Judgement

    def as_json(self) -> dict[str, Any]:
        verdict = "invalid" if self.judgement.invalid else "passed" if self.judgement.passed else "failed"
        return {
            "rate": self.rate,
            "verdict": verdict,
            "achieved_rate": self.result.achieved_rate,
            "output_tokens_per_s": self.result.output_tokens_per_s,
            "ttft_p99_ms": self.result.ms("ttft", 99),
            "tpot_p99_ms": self.result.ms("tpot", 99),
            "why": self.judgement.invalid + self.judgement.violations,
        }


@dataclass
class Sweep:
    steps: list[SweepStep] = field(default_factory=list)

    @property
    def best(self) -> SweepStep | None:
        passed = [s for s in self.steps if s.judgement.passed]
        return passed[-1] if passed else None

    @property
    def stopped_by(self) -> str:
        """Why the sweep ended, which says what its highest rate means: past an SLO break it is
        the target's ceiling; past an invalid run only a lower bound, since the generator, not the
        target, ran out (on a machine the two share, the usual end)."""
        last = self.steps[-1] if self.steps else None
        if last is None or last.judgement.passed:
            return f"the step limit: every one of {len(self.steps)} rates met the SLOs"
        why = (last.judgement.invalid + last.judgement.violations)[:1]
        kind = "an invalid run" if last.judgement.invalid else "the SLOs breaking"
        return f"{kind} at {last.rate:g}/s" + (f" ({why[0]})" if why else "")

    def as_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "highest_rate_meeting_slos": best.rate if best else None,
            "output_tokens_per_s_there": best.result.output_tokens_per_s if best else None,
            "stopped_by": self.stopped_by,
            "steps": [s.as_json() for s in self.steps],
        }


def sweep(
    spec: LLMLoadSpec,
    slo: LLMSLO,
    steps: int,
    run: Callable[[LLMLoadSpec, float], LLMResult],
) -> Sweep:
    """``run(spec_at_rate, rate)`` runs one step (the caller decides where its records go)."""
    out = Sweep()
    rate = spec.rate
    for _ in range(steps):
        result = run(replace(spec, rate=rate), rate)
        step = SweepStep(rate, result, judge(result, slo))
        out.steps.append(step)
        if not step.judgement.passed:
            break
        rate *= 2
    return out
