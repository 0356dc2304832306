"""The statistics a verdict rests on.

The canary share is judged by the exact binomial interval (scipy, not a normal approximation:
at 10 % of 1,000 the tails are not symmetric). A routing check that must see a rare misroute
sends enough requests for it to show at least once with a stated confidence (one line of
arithmetic, exact, so no scipy).
"""

from __future__ import annotations

import math


def binomial_interval(n: int, p: float, confidence: float) -> tuple[int, int]:
    """The exact two-sided interval [lo, hi] of a Binomial(n, p) count at ``confidence``.

    ``scipy.stats.binom.interval`` gives the equal-tailed central interval: each tail outside it
    holds at most (1 - confidence) / 2 of the probability.
    """
    from scipy.stats import binom  # scipy is heavy: loaded when a canary share is judged

    lo, hi = binom.interval(confidence, n, p)
    return int(lo), int(hi)


def detection_probability(n: int, rate: float) -> float:
    """The probability that a defect hitting each of ``n`` independent requests with probability
    ``rate`` shows at least once: 1 - (1 - rate)^n (a Binomial(n, rate) count above zero)."""
    return 1.0 - (1.0 - rate) ** n


def samples_to_detect(rate: float, confidence: float) -> int:
    """The fewest requests that show a defect of ``rate`` at least once with probability ``confidence``:
    the least n with (1 - rate)^n <= 1 - confidence (n >= 299 for 1 % at 95 %)."""
    n = max(1, math.ceil(math.log1p(-confidence) / math.log1p(-rate)))
    while detection_probability(n - 1, rate) >= confidence and n > 1:  # float rounding of the logarithms
        n -= 1
    while detection_probability(n, rate) < confidence:
        n += 1
    return n
