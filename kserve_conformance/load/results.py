"""The merged outcome of a load run, with vegeta's metrics computed from exact counts.

vegeta prints "Success 100.00%" for one 502 in 30,000; everything here keeps the counts
(requests, per status code, per error) so a verdict can name them, and derives ratios only for
display.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.checks.validity import ServerWait
from kserve_conformance.load.attack import LoadSpec
from kserve_conformance.load.process import new_histogram

PERCENTILES = (50, 90, 95, 99, 99.9)


@dataclass
class LoadResult:
    spec: LoadSpec
    latency: HdrHistogram = field(default_factory=new_histogram)
    service: HdrHistogram = field(default_factory=new_histogram)
    lag: HdrHistogram = field(default_factory=new_histogram)
    stall: HdrHistogram = field(default_factory=new_histogram)  # receive-side event-loop stall
    status: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    earliest_ns: int = 0
    latest_ns: int = 0
    end_ns: int = 0
    per_second: dict[int, list[int]] = field(default_factory=dict)
    slow: list[tuple[int, int]] = field(default_factory=list)  # (intended, done) ns of requests >= spec.slow_us
    server_wait: ServerWait | None = None  # the target's processes' CPU wait, where it shares this machine

    @classmethod
    def merge(cls, spec: LoadSpec, workers: list[dict[str, Any]]) -> LoadResult:
        result = cls(spec)
        for w in workers:
            for name in ("latency", "service", "lag", "stall"):
                if name in w:
                    getattr(result, name).add(HdrHistogram.decode(w[name].encode()))
            result.status.update({int(k): v for k, v in w["status"].items()})
            result.errors.update(w["errors"])
            result.bytes_in += w["bytes_in"]
            result.bytes_out += w["bytes_out"]
            if w["earliest_ns"]:
                result.earliest_ns = min(result.earliest_ns or w["earliest_ns"], w["earliest_ns"])
            result.latest_ns = max(result.latest_ns, w["latest_ns"])
            result.end_ns = max(result.end_ns, w["end_ns"])
            for second, (n, failed, worst) in w["per_second"].items():
                bucket = result.per_second.setdefault(int(second), [0, 0, 0])
                bucket[0] += n
                bucket[1] += failed
                bucket[2] = max(bucket[2], worst)
            result.slow.extend((int(a), int(b)) for a, b in w.get("slow", ()))
        return result

    # -- counts ---------------------------------------------------------------------------
    @property
    def requests(self) -> int:
        return sum(self.status.values())

    @property
    def planned(self) -> int:
        return sum(self.spec.planned(w) for w in range(self.spec.workers))

    @property
    def successes(self) -> int:
        """vegeta's definition: no transport error and a status in [200, 400)."""
        return sum(n for code, n in self.status.items() if 200 <= code < 400)

    @property
    def failures(self) -> int:
        return self.requests - self.successes

    # -- vegeta's derived metrics -----------------------------------------------------------
    @property
    def attack_ns(self) -> int:
        return max(0, self.latest_ns - self.earliest_ns)

    @property
    def wait_ns(self) -> int:
        return max(0, self.end_ns - self.latest_ns)

    @property
    def rate(self) -> float:
        """Requests per second actually sent (vegeta: requests / (latest - earliest))."""
        return self.requests / (self.attack_ns / 1e9) if self.attack_ns else 0.0

    @property
    def throughput(self) -> float:
        """Successful requests per second, including the wait for the last answers."""
        total_s = (self.attack_ns + self.wait_ns) / 1e9
        return self.successes / total_s if total_s else 0.0

    def latency_us(self, percentile: float) -> int:
        return int(self.latency.get_value_at_percentile(percentile))

    def lag_us(self, percentile: float) -> int:
        return int(self.lag.get_value_at_percentile(percentile))

    def stall_us(self, percentile: float) -> int:
        return int(self.stall.get_value_at_percentile(percentile))

    def status_line(self) -> str:
        return "  ".join(f"{code}:{n}" for code, n in sorted(self.status.items()))

    def error_lines(self) -> list[str]:
        return [f"{n}x {error}" for error, n in self.errors.most_common()]

    def summary(self) -> str:
        """The numbers a failure message carries: exact counts first, then percentiles."""
        pct = ", ".join(f"p{p:g} {ms(self.latency_us(p))}" for p in PERCENTILES)
        errors = "; ".join(self.error_lines()) or "none"
        return (
            f"{self.requests} requests ({self.planned} planned) at {self.rate:.2f}/s asked "
            f"{self.spec.rate:g}/s; {self.successes} succeeded, {self.failures} failed; "
            f"status codes {self.status_line() or 'none'}; errors: {errors}; latency min "
            f"{ms(self.latency.get_min_value())}, {pct}, max {ms(self.latency.get_max_value())}; "
            f"generator send lag p99 {ms(self.lag_us(99))}, max {ms(self.lag.get_max_value())}; "
            f"receive-side loop stall p99 {ms(self.stall_us(99))}, max {ms(self.stall.get_max_value())}"
        )


def ms(us: float) -> str:
    return f"{us / 1000:.3f}ms"
