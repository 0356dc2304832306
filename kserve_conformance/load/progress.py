"""The load phase's progress line: every worker's counts and histogram merged into one line per round.

Both kinds of run (the classic generator and the LLM one) print the same line from their workers'
progress documents; what differs is which figures, and that is the table below (``FIGURES``), not
a second class. A round is printed once every worker has reported in it.

    kind        counts printed (worker key: label)                          p99 of       p99 shown when
    classic     sent, ok, errors                                             latency      ok + errors > 0
    llm         sent, ok, errors, tokens: "output tokens"                    ttft (TTFT)  ok > 0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hdrh.histogram import HdrHistogram

from kserve_conformance.load.process import new_histogram


@dataclass(frozen=True)
class Figures:
    """What one kind of run prints: its name, the counts summed over workers, the histogram's p99."""

    name: str  # the line's prefix: "load", "llm-load"
    counts: tuple[tuple[str, str], ...]  # (worker document key, label), summed and printed in this order
    histogram: str  # the worker document key of the HDR histogram whose p99 is printed
    p99_label: str  # "p99", "TTFT p99"
    p99_over: tuple[str, ...]  # counts whose sum must be positive for a p99 (else "-")


FIGURES = {
    "classic": Figures(
        "load", (("sent", "sent"), ("ok", "ok"), ("errors", "errors")), "latency", "p99", ("ok", "errors")
    ),
    "llm": Figures(
        "llm-load",
        (("sent", "sent"), ("ok", "ok"), ("errors", "errors"), ("tokens", "output tokens")),
        "ttft",
        "TTFT p99",
        ("ok",),
    ),
}


class Run(Protocol):
    """What the line needs of a run's spec (``LoadSpec``, ``LLMLoadSpec``)."""

    @property
    def workers(self) -> int: ...

    @property
    def duration_s(self) -> float: ...


class Progress:
    """Merges the workers' progress documents into one line per round (every worker reported)."""

    def __init__(self, figures: Figures, spec: Run, say: Callable[[str], None], start_in_s: float) -> None:
        self.figures, self.spec, self.say = figures, spec, say
        self.start = time.monotonic() + start_in_s
        self.latest: dict[int, dict[str, Any]] = {}

    def update(self, worker: int, doc: dict[str, Any]) -> None:
        self.latest[worker] = doc
        if len(self.latest) < self.spec.workers:
            return
        f = self.figures
        histogram = new_histogram()
        for d in self.latest.values():
            histogram.add(HdrHistogram.decode(d[f.histogram].encode()))
        totals = {key: sum(d[key] for d in self.latest.values()) for key, _ in f.counts}
        measured = sum(totals[key] for key in f.p99_over)
        p99 = f"{histogram.get_value_at_percentile(99) / 1000:.3f}ms" if measured else "-"
        counts = ", ".join(f"{label} {totals[key]}" for key, label in f.counts)
        self.say(
            f"{f.name}: {time.monotonic() - self.start:.0f}s of {self.spec.duration_s:g}s, {counts}, "
            f"{f.p99_label} so far {p99}"
        )
        self.latest.clear()
