"""Thresholds a load run is judged by, and the judgement.

Validity comes first: latency is measured from the intended send time, so a generator that
could not keep its schedule (large send-side scheduling lag), or whose event loop read answers
late (large receive-side loop stall), charges its own delay to the target. Such a
run is *invalid*, neither a pass nor a failure of the target, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from kserve_conformance.load.results import LoadResult, ms


@dataclass(frozen=True)
class SLO:
    p99_ms: float | None = None
    p50_ms: float | None = None
    max_ms: float | None = None
    error_rate: float = 0.0  # failed / requests may not exceed this
    max_lag_ms: float = 10.0  # generator send lag or receive-side loop stall p99 above this: invalid


@dataclass(frozen=True)
class Judgement:
    invalid: list[str]
    violations: list[str]

    @property
    def passed(self) -> bool:
        return not self.invalid and not self.violations


def judge(result: LoadResult, slo: SLO) -> Judgement:
    invalid: list[str] = []
    for what, p99 in (
        ("scheduling lag", result.lag_us(99)),
        ("receive-side event-loop stall", result.stall_us(99)),
    ):
        if p99 > slo.max_lag_ms * 1000:
            invalid.append(
                f"generator {what} p99 {ms(p99)} > {slo.max_lag_ms:g}ms (--kserve-load-max-lag-ms): "
                "the generator was starved of CPU and its latencies include its own delay"
            )
    if result.requests != result.planned:
        invalid.append(f"the generator recorded {result.requests} of {result.planned} planned requests")
    violations: list[str] = []
    allowed = slo.error_rate * result.requests
    if result.failures > allowed:
        violations.append(
            f"error rate {result.failures}/{result.requests} exceeds --kserve-slo-error-rate={slo.error_rate:g} "
            f"(at most {int(allowed)} of {result.requests} may fail)"
        )
    for name, percentile, bound in (("p50", 50.0, slo.p50_ms), ("p99", 99.0, slo.p99_ms), ("max", 100.0, slo.max_ms)):
        if bound is None:
            continue
        value = result.latency_us(percentile) if percentile < 100 else result.latency.get_max_value()
        if value <= bound * 1000:
            continue
        broke = f"latency {name} {ms(value)} exceeds --kserve-slo-{name}-ms={bound:g}"
        late = starved(result, bound, percentile)
        if late is None:
            violations.append(broke)
        elif late.unexcused <= late.allowed:
            invalid.append(f"{broke}, but only while the target's processes waited for a CPU: {late}")
        else:
            violations.append(f"{broke} ({late})")
    return Judgement(invalid, violations)


@dataclass(frozen=True)
class Starved:
    """The requests over one latency bound, split by whether the target was starved during each."""

    over: int  # requests slower than the bound
    unexcused: int  # of them, those the target's CPU wait during their flight cannot account for
    allowed: int  # how many may be over it with the percentile still within the bound
    bound_ms: float

    def __str__(self) -> str:
        return (
            f"{self.over} requests over {self.bound_ms:g}ms, of which {self.over - self.unexcused} had at least "
            f"as much CPU wait on the target's processes during their own flight as they were over (the machine "
            f"this target shares was busy) and {self.unexcused} had not; the bound allows {self.allowed}"
        )


def starved(result: LoadResult, bound_ms: float, percentile: float) -> Starved | None:
    """Where the target shares this machine, which requests over ``bound_ms`` it was starved during.

    A request over the bound by ``x`` is *explained* when the target's processes, added up, waited
    at least ``x`` for a CPU while it was in flight (``ServerWait``): the machine, not the target,
    may have made it late. The percentile is only the target's when the unexplained ones alone
    break it. ``None`` where that cannot be asked: the target is not on this machine, or the
    generator did not keep the requests that slow one by one.
    """
    waits, bound_us = result.server_wait, int(bound_ms * 1000)
    if waits is None or result.spec.slow_us is None or result.spec.slow_us > bound_us:
        return None
    over = unexcused = 0
    for intended, done in result.slow:
        excess_ns = done - intended - bound_us * 1000
        if excess_ns > 0:
            over += 1
            unexcused += waits.waited_ns(intended, done) < excess_ns
    allowed = int(result.requests * (100 - percentile) / 100)
    return Starved(over, unexcused, allowed, bound_ms)
