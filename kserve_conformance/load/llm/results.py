"""The merged outcome of an LLM load run: exact counts, merged histograms, every request's record."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.checks.validity import ServerWait
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.llm.worker import HISTOGRAMS
from kserve_conformance.load.process import new_histogram

SUMMARY_PERCENTILES = (50, 90, 99)


@dataclass
class LLMResult:
    spec: LLMLoadSpec
    hist: dict[str, HdrHistogram] = field(default_factory=lambda: {n: new_histogram() for n in HISTOGRAMS})
    outcomes: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    output_tokens: int = 0
    content_chunks: int = 0
    tokens_per_second: dict[int, int] = field(default_factory=dict)
    first_send_ns: int = 0
    last_end_ns: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    server_wait: ServerWait | None = None  # the target's processes' CPU wait, where it shares this machine

    @classmethod
    def merge(cls, spec: LLMLoadSpec, workers: list[dict[str, Any]], records_dir: Path | None = None) -> LLMResult:
        result = cls(spec)
        for w in workers:
            for name in HISTOGRAMS:
                result.hist[name].add(HdrHistogram.decode(w["hist"][name].encode()))
            result.outcomes.update(w["outcomes"])
            result.flags.update(w["flags"])
            result.errors.update(w["errors"])
            result.output_tokens += w["output_tokens"]
            result.content_chunks += w["content_chunks"]
            for second, n in w["tokens_per_second"].items():
                result.tokens_per_second[int(second)] = result.tokens_per_second.get(int(second), 0) + n
            if w["first_send_ns"]:
                result.first_send_ns = min(result.first_send_ns or w["first_send_ns"], w["first_send_ns"])
            result.last_end_ns = max(result.last_end_ns, w["last_end_ns"])
        if records_dir is not None:
            for path in sorted(records_dir.glob("worker-*.jsonl")):
                result.records.extend(json.loads(line) for line in path.read_text().splitlines() if line)
            result.records.sort(key=lambda r: r["i"])
        return result

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> int:
        return self.outcomes["ok"]

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    @property
    def elapsed_s(self) -> float:
        return max(0.0, (self.last_end_ns - self.first_send_ns) / 1e9)

    @property
    def achieved_rate(self) -> float:
        """Streams started per second, over the span of the intended schedule's sends."""
        sends = [r["sent_ms"] for r in self.records]
        span = (max(sends) - min(sends)) / 1000 if len(sends) > 1 else 0.0
        return (len(sends) - 1) / span if span else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.elapsed_s if self.elapsed_s else 0.0

    def ms(self, name: str, percentile: float) -> float:
        h = self.hist[name]
        if not h.get_total_count():
            return 0.0
        value = h.get_max_value() if percentile >= 100 else h.get_value_at_percentile(percentile)
        return float(value) / 1000

    def percentiles(self, name: str) -> dict[str, float | int]:
        out: dict[str, float | int] = {f"p{p}": self.ms(name, p) for p in SUMMARY_PERCENTILES}
        out["max"] = self.ms(name, 100)
        out["count"] = self.hist[name].get_total_count()
        return out

    def outcome_line(self) -> str:
        return ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes.items())) or "none"

    def summary_line(self) -> str:
        """The numbers a failure message carries: exact counts first, then percentiles."""
        flags = ", ".join(f"{k} {n}" for k, n in sorted(self.flags.items()) if n) or "none"
        fig = "; ".join(
            f"{n} p50 {self.ms(n, 50):.3f}ms p99 {self.ms(n, 99):.3f}ms max {self.ms(n, 100):.3f}ms"
            for n in ("ttft", "itl", "tpot", "e2e")
        )
        return (
            f"{self.sent} streams ({self.spec.planned} planned) at {self.achieved_rate:.2f}/s asked "
            f"{self.spec.rate:g}/s; outcomes: {self.outcome_line()}; stream flags: {flags}; "
            f"{self.output_tokens} output tokens, {self.output_tokens_per_s:.1f} tokens/s; {fig}; "
            f"send lag p99 {self.ms('lag', 99):.3f}ms, receive-side loop stall p99 {self.ms('stall', 99):.3f}ms "
            f"max {self.ms('stall', 100):.3f}ms"
        )
