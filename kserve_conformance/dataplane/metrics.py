"""A model server's Prometheus metrics as the checks judge them: snapshots, and what changed between two.

The text is parsed by prometheus_client's own parser (the exposition format's reference
implementation in Python), never by hand. A :class:`Snapshot` keeps every sample by its sample
name (``request_predict_seconds_count``, ``vllm:prompt_tokens_total``) and labels, so a counter's
``_total`` and a histogram's ``_count``/``_bucket`` are looked up as the server wrote them.

The checks count, they do not estimate: a burst of N requests must move a request counter by
exactly N, which holds only if nobody else sent requests in between; :func:`growth` reports the
change and the caller decides what an unexplained surplus means. What a label whose values grow
with the requests looks like (:func:`growing_labels`), and whether a histogram can resolve a
threshold (:func:`nearest_bound`), are decided here, from data alone, so they are unit-tested
without a server.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# Labels that structure a histogram or summary rather than describe a series.
STRUCTURAL_LABELS = frozenset({"le", "quantile"})
# A threshold is resolved when a finite bucket bound lies within this factor of it: a histogram's
# quantile is exact only at a bound and interpolated between two, so a 100 ms bound tells whether
# p99 <= 100 ms, while bounds 50 ms and 250 ms only say "somewhere between". 1.5 accepts the
# 1-2.5-5 series of Prometheus' default buckets next to a threshold of the same decade.
RESOLUTION_FACTOR = 1.5

Labels = frozenset[tuple[str, str]]


class MetricsFormatError(ValueError):
    """A body that is not the Prometheus text exposition format."""


@dataclass(frozen=True)
class Snapshot:
    """One scrape: every sample's value by (sample name, labels), and each family's type."""

    samples: Mapping[tuple[str, Labels], float]
    types: Mapping[str, str] = field(default_factory=dict)  # family name -> counter, histogram, gauge, ...

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        samples: dict[tuple[str, Labels], float] = {}
        types: dict[str, str] = {}
        try:
            for family in text_string_to_metric_families(text):
                types[family.name] = family.type
                for sample in family.samples:
                    samples[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
        except (ValueError, TypeError, IndexError) as err:
            raise MetricsFormatError(f"not the Prometheus text format: {err}") from None
        return cls(samples, types)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def matching(self, name: str, match: Mapping[str, str]) -> dict[Labels, float]:
        """The samples called ``name`` whose labels include every pair of ``match``."""
        wanted = set(match.items())
        return {labels: v for (n, labels), v in self.samples.items() if n == name and wanted <= labels}

    def total(self, name: str, match: Mapping[str, str]) -> float | None:
        """The sum of the matching samples; ``None`` when there is none (absent is not zero)."""
        found = self.matching(name, match)
        return sum(found.values()) if found else None

    def label_values(self) -> dict[tuple[str, str], set[str]]:
        """Each (sample name, label)'s values, structural labels (``le``, ``quantile``) left out."""
        values: dict[tuple[str, str], set[str]] = {}
        for name, labels in self.samples:
            for key, value in labels:
                if key not in STRUCTURAL_LABELS:
                    values.setdefault((name, key), set()).add(value)
        return values

    def bucket_bounds(self, histogram: str, match: Mapping[str, str]) -> list[float]:
        """The finite ``le`` bounds of ``histogram``'s buckets for the matching series, ascending."""
        bounds = {float(dict(labels)["le"]) for labels in self.matching(f"{histogram}_bucket", match)}
        return sorted(b for b in bounds if math.isfinite(b))

    def buckets(self, histogram: str, match: Mapping[str, str]) -> dict[float, float]:
        """Cumulative bucket counts by bound (``+Inf`` included), summed over the matching series."""
        counts: dict[float, float] = {}
        for labels, value in self.matching(f"{histogram}_bucket", match).items():
            bound = float(dict(labels)["le"])
            counts[bound] = counts.get(bound, 0.0) + value
        return counts


def combined(snapshots: list[Snapshot]) -> Snapshot:
    """Several pods' scrapes as one: equal series summed (a Prometheus would tell them apart by a
    ``pod`` label; a sum over pods is what the checks compare with the requests sent)."""
    samples: dict[tuple[str, Labels], float] = {}
    types: dict[str, str] = {}
    for snapshot in snapshots:
        types.update(snapshot.types)
        for key, value in snapshot.samples.items():
            samples[key] = samples.get(key, 0.0) + value
    return Snapshot(samples, types)


def growth(before: Snapshot, after: Snapshot, name: str, match: Mapping[str, str]) -> float | None:
    """How much the matching samples grew between two scrapes; ``None`` if absent after. A series
    that first appears in ``after`` grew from zero (a labelled series is created on first use)."""
    now = after.total(name, match)
    if now is None:
        return None
    return now - (before.total(name, match) or 0.0)


class Count(enum.Enum):
    """How a counter's growth over a burst compares with what the suite sent."""

    EXACT = "exact"
    ABSENT = "absent"  # no such series after the burst
    SHORT = "short"  # grew by less: the counter misses requests (a defect)
    SURPLUS = "surplus"  # grew by more: someone else's requests too (cannot be attributed: invalid)


def count(grew: float | None, sent: float) -> Count:
    """The rule of the counting checks: exact passes, short fails, surplus is not the server's fault."""
    if grew is None:
        return Count.ABSENT
    if grew < sent:
        return Count.SHORT
    return Count.SURPLUS if grew > sent else Count.EXACT


@dataclass(frozen=True)
class GrowingLabel:
    sample: str
    label: str
    new_values: tuple[str, ...]  # the values first seen after the burst (a few, for the message)
    count: int


def growing_labels(before: Snapshot, after: Snapshot, requests: int) -> list[GrowingLabel]:
    """Labels that gained at least half as many new values as requests were sent between the scrapes.

    A label may legitimately gain a value or two in a burst (a first ``finished_reason``, a first
    status code); one that gains a value for every other request or more is keyed by something
    per request (an id, a timestamp, the prompt), and its series grow without bound."""
    limit = max(2, math.ceil(requests / 2))
    old = before.label_values()
    found = []
    for (sample, label), values in sorted(after.label_values().items()):
        new = values - old.get((sample, label), set())
        if len(new) >= limit:
            found.append(GrowingLabel(sample, label, tuple(sorted(new)[:3]), len(new)))
    return found


def nearest_bound(bounds: list[float], threshold: float) -> float | None:
    """The finite bucket bound closest to ``threshold`` (by ratio); ``None`` without bounds."""
    positive = [b for b in bounds if b > 0]
    if not positive or threshold <= 0:
        return None
    return min(positive, key=lambda b: abs(math.log(b / threshold)))


def resolves(bounds: list[float], threshold: float, factor: float = RESOLUTION_FACTOR) -> bool:
    """Whether a bucket bound lies within ``factor`` of the threshold (either side)."""
    bound = nearest_bound(bounds, threshold)
    return bound is not None and max(bound / threshold, threshold / bound) <= factor


def quantile_range(
    before: Snapshot, after: Snapshot, histogram: str, match: Mapping[str, str], q: float
) -> tuple[float, float] | None:
    """The bucket (lower, upper bound) that holds the ``q`` quantile of the observations made
    between two scrapes: all a histogram can say about it, without interpolating. ``None`` when
    nothing was observed in between."""
    start, end = before.buckets(histogram, match), after.buckets(histogram, match)
    bounds = sorted(end)
    deltas = [end[b] - start.get(b, 0.0) for b in bounds]
    if not deltas or deltas[-1] <= 0:
        return None
    rank = q * deltas[-1]
    lower = 0.0
    for bound, cumulative in zip(bounds, deltas, strict=True):
        if cumulative >= rank:
            return lower, bound
        lower = bound
    return lower, math.inf
