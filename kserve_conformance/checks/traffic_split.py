"""The verdict on a weighted traffic split: counts per member against the weights, with a stated bound.

Two rules, each exact (no normal approximation):

- a member with weight w of W gets a Binomial(n, w/W) count; the exact two-sided binomial test
  (scipy's ``binomtest``) rejects the split when p < alpha, so a correct gateway fails once in
  1/alpha runs and a count far from the share fails at once;
- a member at weight 0 must get none: a single request is a misroute, and n requests show a
  misroute rate r at least once with probability 1 - (1 - r)^n (``statistics.samples_to_detect``:
  299 for 1 in 100 at 95 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MemberCount:
    """One member's requests, its expected share and the test's p-value."""

    member: str
    count: int
    n: int
    weight: int
    total_weight: int
    p_value: float

    @property
    def expected(self) -> float:
        return self.n * self.weight / self.total_weight

    def describe(self) -> str:
        return f"{self.member} got {self.count} of {self.n} (expected {self.expected:.0f}; p={self.p_value:.2g})"


def binomial_p_value(count: int, n: int, share: float) -> float:
    """The exact two-sided p-value of ``count`` successes in ``n`` trials of probability ``share``."""
    from scipy.stats import binomtest  # scipy is heavy: loaded when a split is judged

    if share <= 0.0:
        return 1.0 if count == 0 else 0.0
    if share >= 1.0:
        return 1.0 if count == n else 0.0
    return float(binomtest(count, n, share).pvalue)


def judge(counts: Mapping[str, int], weights: Mapping[str, int]) -> list[MemberCount]:
    """Each weighted member's count tested against its share of ``sum(counts)`` requests."""
    n, total = sum(counts.values()), sum(weights.values())
    return [
        MemberCount(m, counts.get(m, 0), n, w, total, binomial_p_value(counts.get(m, 0), n, w / total))
        for m, w in weights.items()
    ]


def weights_text(weights: Mapping[str, int]) -> str:
    """``9:1 (my-model-v1:my-model-v2)``: the weights as the guide writes them."""
    return f"{':'.join(str(w) for w in weights.values())} ({':'.join(weights)})"
