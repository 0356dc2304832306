"""The statistics a verdict rests on.

The canary share is judged by the exact binomial interval (scipy, not a normal approximation:
at 10 % of 1,000 the tails are not symmetric).
"""

from __future__ import annotations


def binomial_interval(n: int, p: float, confidence: float) -> tuple[int, int]:
    """The exact two-sided interval [lo, hi] of a Binomial(n, p) count at ``confidence``.

    ``scipy.stats.binom.interval`` gives the equal-tailed central interval: each tail outside it
    holds at most (1 - confidence) / 2 of the probability.
    """
    from scipy.stats import binom  # scipy is heavy: loaded when a canary share is judged

    lo, hi = binom.interval(confidence, n, p)
    return int(lo), int(hi)
