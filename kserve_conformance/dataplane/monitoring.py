"""Did the cluster's Prometheus count the suite's requests? Baselines and growth from scraped samples.

Prometheus samples: a counter is known only as of its last scrape, and the suite's clock is not
Prometheus'. So the baseline is taken from scrapes, not from a time: the pods' ``up`` series name
each scrape (every scrape writes ``up`` and the pod's series with one timestamp), and the
baseline is each pod's counter at the **second** scrape after the check began (the first may
have been taken just before, and missed by the query that found where the series stood). A
counter absent from that scrape has counted nothing yet: 0. Growth is then the counters' latest
values less that baseline, summed over the pods; it must reach the N requests the suite sent.

Why "at least" N and not exactly: other clients (a cluster's own probes, another user) may send
requests to the same model between the baseline scrape and the last one; a surplus is theirs,
a shortfall is a request the monitoring did not count. A pod restarted in between resets its
counter; its growth is then counted from 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kserve_conformance.dataplane.promql import PromQL, Series, selector

WINDOW_S = 300.0  # how far back each query reads samples: several scrapes at any usual interval
# Polls in a row that show a pod discovered and dropped before that is the answer (not discovery lag).
DROPPED_POLLS = 3
POD_META = "__meta_kubernetes_"  # the pod role's discovered labels: __meta_kubernetes_namespace, ..._pod_name
IdentityLabels = tuple[str, str]  # (namespace label, pod label) as a scrape configuration names them


@dataclass(frozen=True)
class Pods:
    """The pods a service runs, and the label names that say which pod a series was scraped from."""

    namespace: str
    names: frozenset[str]
    identities: tuple[IdentityLabels, ...]  # e.g. ("namespace", "pod"), ("kubernetes_namespace", "kubernetes_pod_name")

    def pod_of(self, labels: dict[str, str]) -> str | None:
        """The pod a series comes from, if its labels name one of these pods in this namespace."""
        for ns_label, pod_label in self.identities:
            if labels.get(ns_label) == self.namespace and labels.get(pod_label) in self.names:
                return labels[pod_label]
        return None

    def select(self, prom: PromQL, metric: str, extra: dict[str, str]) -> dict[str, list[Series]]:
        """This metric's series from these pods, by pod (each identity's namespace label in the selector)."""
        by_pod: dict[str, list[Series]] = {}
        for ns_label, _ in self.identities:
            for series in prom.series(selector(metric, {ns_label: self.namespace, **extra}), WINDOW_S):
                pod = self.pod_of(series.labels)
                if pod is not None:
                    by_pod.setdefault(pod, []).append(series)
        return by_pod


def scrape_times(up: Iterable[Series]) -> list[float]:
    return sorted({t for s in up for t, _ in s.samples})


def value_at(series: list[Series], at: float) -> float:
    """The counter's value in the scrape at ``at`` (summed over its series), 0 if that scrape lacked it."""
    return sum(v for s in series for t, v in s.samples if t == at)


def latest(series: list[Series], after: float) -> float | None:
    """The counter's value in its latest scrape after ``after`` (summed over its series); None if none yet."""
    newest = max((t for s in series for t, _ in s.samples if t > after), default=None)
    return None if newest is None else value_at(series, newest)


@dataclass(frozen=True)
class Baseline:
    """Per pod: the scrape the baseline comes from, and the counter's value in it."""

    at: dict[str, float]
    value: dict[str, float]


def wait_for_scrapes(
    prom: PromQL, pods: Pods, deadline: float, poll_s: float, clock: Callable[[], float] = time.monotonic
) -> dict[str, float] | str:
    """Per pod, the time of its second successful scrape from now; or what is missing.

    Discovery takes a while (a refresh interval), so a pod without a target is waited for until the
    deadline; but one that Prometheus has discovered and dropped (its relabelling keeps no target of
    it) for ``DROPPED_POLLS`` polls in a row is a decision made, not a delay: it is reported then.
    """
    start: dict[str, float] = {}
    dropped_polls = 0
    while True:
        up = pods.select(prom, "up", {})
        for pod, series in up.items():
            start.setdefault(pod, max(scrape_times(series)))
        found: dict[str, float] = {}
        failing = []
        for pod, series in up.items():
            later = [t for t in scrape_times(series) if t > start[pod]]
            if len(later) >= 2:
                if all(v == 1.0 for one in series for t, v in one.samples if t == later[1]):
                    found[pod] = later[1]
                else:
                    failing.append(pod)
        if failing:  # a scrape that failed after the check began is an answer, not a delay
            return f"Prometheus' scrapes of pod(s) {', '.join(sorted(failing))} fail (up is 0)"
        if found.keys() >= pods.names:
            return found
        unseen = sorted(pods.names - up.keys())
        dropped_polls = dropped_polls + 1 if unseen and only_dropped(prom, pods, unseen) else 0
        if dropped_polls >= DROPPED_POLLS:
            return (
                f"Prometheus discovered pod(s) {', '.join(unseen)} and its relabelling dropped every target "
                "of them: nothing scrapes them"
            )
        if clock() > deadline:
            if unseen:
                return f"Prometheus has no scrape target (no up series) for pod(s) {', '.join(unseen)}"
            return f"Prometheus scraped pod(s) {', '.join(sorted(pods.names - found.keys()))} fewer than twice"
        time.sleep(poll_s)


def only_dropped(prom: PromQL, pods: Pods, names: list[str]) -> bool:
    """Whether Prometheus has discovered each of these pods Running and Ready, and keeps no target of it.

    A target dropped while its discovered labels still say Pending is discovery lagging behind the
    pod (Prometheus refreshes and passes on discovery every few seconds), not the relabelling's verdict.
    """
    states: dict[str, set[str]] = {}
    for target in prom.targets():
        meta = target.get("discoveredLabels", {})
        if meta.get(f"{POD_META}namespace") != pods.namespace:
            continue
        current = meta.get(f"{POD_META}pod_phase") == "Running" and meta.get(f"{POD_META}pod_ready") == "true"
        state = target["state"] if current or target["state"] == "active" else "stale"
        states.setdefault(meta.get(f"{POD_META}pod_name", ""), set()).add(state)
    return all(states.get(name) == {"dropped"} for name in names)


def baseline(prom: PromQL, pods: Pods, metric: str, labels: dict[str, str], at: dict[str, float]) -> Baseline:
    counters = pods.select(prom, metric, labels)
    return Baseline(at, {pod: value_at(counters.get(pod, []), t) for pod, t in at.items()})


def growth(prom: PromQL, pods: Pods, metric: str, labels: dict[str, str], base: Baseline) -> tuple[float, bool]:
    """The counter's growth since the baseline, summed over the pods; and whether any series was seen at all."""
    counters = pods.select(prom, metric, labels)
    total = 0.0
    for pod, at in base.at.items():
        now = latest(counters.get(pod, []), at)
        if now is not None:
            total += now - base.value[pod] if now >= base.value[pod] else now  # a reset counts from 0
    return total, bool(counters)


def unidentified(prom: PromQL, pods: Pods, metric: str, labels: dict[str, str]) -> list[dict[str, str]]:
    """The metric's series for the model that name no pod of any namespace (as a static target's would)."""
    found = prom.series(selector(metric, labels), WINDOW_S)
    named = [s for s in found if any(s.labels.get(ns) and s.labels.get(pod) for ns, pod in pods.identities)]
    return [s.labels for s in found if s not in named]
