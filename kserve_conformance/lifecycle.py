"""Helpers for the rollout and scaling checks: pure where they can be, so the self-tests need no cluster.

* the exact binomial interval a canary share is judged by (scipy, not a normal approximation:
  at 10 % of 1,000 the tails are not symmetric);
* reading ``status.components.predictor`` (revisions and the traffic list) and saying what
  differs from the split a check waits for;
* counting ready predictor replicas from pod objects, the way ``kubectl get pods`` shows READY;
* closed-loop background traffic (a few threads, each one request after the other) that
  counts every answer by class, so "no request failed during the change" is a count.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from scipy.stats import binom

from kserve_conformance.timeouts import DEFAULT

Obj = dict[str, Any]
OLD, CANARY, NEITHER = "old", "canary", "neither"
# Polled, not watched: the conditions span several objects (the service's status, its pods).
POLL_S = DEFAULT.lifecycle_poll_s


# --- the canary share ---------------------------------------------------------------------------
def binomial_interval(n: int, p: float, confidence: float) -> tuple[int, int]:
    """The exact two-sided interval [lo, hi] of a Binomial(n, p) count at ``confidence``.

    ``scipy.stats.binom.interval`` gives the equal-tailed central interval: each tail outside it
    holds at most (1 - confidence) / 2 of the probability.
    """
    lo, hi = binom.interval(confidence, n, p)
    return int(lo), int(hi)


# --- status ------------------------------------------------------------------------------------
def predictor_status(isvc: Obj) -> Obj:
    return isvc.get("status", {}).get("components", {}).get("predictor", {}) or {}


def traffic_of(isvc: Obj) -> list[Obj]:
    return list(predictor_status(isvc).get("traffic") or [])


def describe_traffic(traffic: Iterable[Obj]) -> str:
    """``[A 90 % (prev), B 10 % latest (latest)]``: the list as a person reads it."""
    parts = []
    for t in traffic:
        latest = " latest" if t.get("latestRevision") else ""
        tag = f" ({t['tag']})" if t.get("tag") else ""
        parts.append(f"{t.get('revisionName', '?')} {t.get('percent', 0)} %{latest}{tag}")
    return "[" + ", ".join(parts) + "]"


def missing_entries(traffic: list[Obj], wanted: Iterable[Obj]) -> list[Obj]:
    """Wanted entries with no traffic entry holding all of their fields (an entry may hold more).

    A missing ``percent`` means 0 in Knative's API (``omitempty``), so it is compared as 0.
    """
    def holds(entry: Obj, want: Obj) -> bool:
        return all((entry.get(k, 0) if k == "percent" else entry.get(k)) == v for k, v in want.items())

    return [want for want in wanted if not any(holds(entry, want) for entry in traffic)]


def revision_state(isvc: Obj) -> str:
    """Everything a traffic wait depends on, in one line for its timeout message."""
    meta, status = isvc.get("metadata", {}), isvc.get("status", {})
    predictor = predictor_status(isvc)
    ready = next((c.get("status") for c in status.get("conditions", []) if c.get("type") == "Ready"), None)
    revisions = ", ".join(f"{k}={predictor.get(k)}" for k in (
        "latestCreatedRevision", "latestReadyRevision", "latestRolledoutRevision", "previousRolledoutRevision"))
    return (f"generation {meta.get('generation')}, observedGeneration {status.get('observedGeneration')}, "
            f"Ready={ready}, {revisions}, traffic {describe_traffic(traffic_of(isvc))}")


def current_and_ready(isvc: Obj) -> bool:
    """The status describes this spec (observedGeneration == generation) and says Ready."""
    meta, status = isvc.get("metadata", {}), isvc.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
    return ready and status.get("observedGeneration") == meta.get("generation")


def canary_split_problem(isvc: Obj, old: str, canary_percent: int) -> str | None:
    """Why the status is not (yet) the canary split KServe documents; None once it is.

    KServe docs: "the canary rollout strategy is configured to route 10% of the traffic to the new
    revision, 90% of the traffic will go to the LastestRolledoutRevision"; KServe tags the two
    traffic targets ``latest`` and ``prev``.
    """
    predictor = predictor_status(isvc)
    new = predictor.get("latestReadyRevision")
    if not current_and_ready(isvc):
        return "status not Ready for the current generation"
    if not new or new == old or predictor.get("latestCreatedRevision") != new:
        return f"no new ready revision besides {old}"
    missing = missing_entries(traffic_of(isvc), [
        {"revisionName": new, "latestRevision": True, "percent": canary_percent, "tag": "latest"},
        {"revisionName": old, "latestRevision": False, "percent": 100 - canary_percent, "tag": "prev"}])
    return f"traffic lacks {describe_traffic(missing)}" if missing else None


def promoted_problem(isvc: Obj, old: str, new: str) -> str | None:
    """Why the status is not yet "100 % to the new revision, the old one previous"."""
    predictor = predictor_status(isvc)
    if not current_and_ready(isvc):
        return "status not Ready for the current generation"
    routed = [t for t in traffic_of(isvc) if t.get("percent", 0)]
    if len(routed) != 1 or missing_entries(routed, [{"revisionName": new, "latestRevision": True, "percent": 100}]):
        return f"traffic is not 100 % to {new}"
    rolled = (predictor.get("latestRolledoutRevision"), predictor.get("previousRolledoutRevision"))
    if rolled != (new, old):
        return f"rolled-out revisions are latest={rolled[0]}, previous={rolled[1]}; expected {new}, {old}"
    return None


def rolled_back_problem(isvc: Obj, old: str, new: str) -> str | None:
    """Why the status is not yet "100 % pinned to the previous rolled-out revision"."""
    if not current_and_ready(isvc):
        return "status not Ready for the current generation"
    missing = missing_entries(traffic_of(isvc), [{"revisionName": old, "percent": 100},
                                                 {"revisionName": new, "latestRevision": True, "percent": 0}])
    return f"traffic lacks {describe_traffic(missing)}" if missing else None


# --- answers -----------------------------------------------------------------------------------
def classify(body: Any, answers: Mapping[str, Any]) -> str:
    """Which revision answered: ``answers`` (from the data file) holds each revision's exact body."""
    if body == answers[OLD]:
        return OLD
    if body == answers[CANARY]:
        return CANARY
    return NEITHER


def answer_class(status: int | None, body: bytes, answers: Mapping[str, Any]) -> str:
    """``old`` / ``canary`` / ``neither`` for a 200; otherwise the status (or transport error) itself."""
    if status is None:
        return "transport error"
    if status != 200:
        return str(status)
    try:
        return classify(json.loads(body), answers)
    except ValueError:
        return NEITHER


def describe_counts(counts: Counter[str]) -> str:
    """``503 ×3, transport error ×1``: every class with its exact count, most frequent first."""  # noqa: RUF002
    return ", ".join(f"{k} \u00d7{v}" for k, v in counts.most_common()) or "none"


# --- replicas ----------------------------------------------------------------------------------
def predictor_selector(name: str) -> str:
    return f"serving.kserve.io/inferenceservice={name},component=predictor"


def ready_pods(pods: Iterable[Obj]) -> list[str]:
    """Names of pods that serve: not being deleted, and condition Ready is True (kubectl's READY)."""
    names = []
    for pod in pods:
        meta = pod.get("metadata", {})
        if meta.get("deletionTimestamp"):
            continue
        conditions = pod.get("status", {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            names.append(meta.get("name", "?"))
    return sorted(names)


@dataclass
class Polled:
    """The outcome of a poll: whether it held, when it first held, and the last value seen."""

    reached: bool
    elapsed_s: float
    last: Any


def poll_until(read: Callable[[], Any], holds: Callable[[Any], bool], timeout_s: float, consecutive: int = 1,
               interval_s: float = POLL_S) -> Polled:
    """Poll ``read`` until ``holds`` is true on ``consecutive`` polls in a row, within ``timeout_s``.

    ``elapsed_s`` is when the streak began (the first poll that held), not when it was confirmed:
    the figure a person wants is when the cluster got there.
    """
    start = time.monotonic()
    streak_began: float | None = None
    streak, last = 0, None
    while True:
        last = read()
        now = time.monotonic()
        if holds(last):
            streak_began = now if streak == 0 else streak_began
            streak += 1
            if streak >= consecutive:
                return Polled(True, (streak_began or now) - start, last)
        else:
            streak = 0
        if now - start >= timeout_s:
            return Polled(False, now - start, last)
        time.sleep(interval_s)


# --- background traffic ------------------------------------------------------------------------
@dataclass
class Request:
    """One data-plane request, as the closed loop repeats it."""

    url: str
    headers: dict[str, str]
    body: bytes | None  # None: a GET
    timeout_s: float

    def send(self, session: requests.Session) -> requests.Response:
        if self.body is None:
            return session.get(self.url, headers=self.headers, timeout=self.timeout_s)
        return session.post(self.url, data=self.body, headers=self.headers, timeout=self.timeout_s)


@dataclass
class ClosedLoop:
    """``workers`` threads, each sending ``request`` again as soon as the last one is answered.

    Closed loop on purpose: it keeps a known concurrency in flight (what Knative's autoscaler
    scales on) and, during a rollout, sends requests throughout the change without piling up a
    queue behind a slow cold start. Every answer is counted by ``classify(status, body)``.
    """

    request: Request
    classify: Callable[[int | None, bytes], str]
    workers: int = 1
    counts: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> ClosedLoop:
        for i in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"closed-loop-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Counter[str]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.request.timeout_s + 5)
        return self.counts

    @property
    def sent(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                r = self.request.send(session)
                label = self.classify(r.status_code, r.content)
            except requests.RequestException:
                label = self.classify(None, b"")
            with self._lock:
                self.counts[label] += 1
        session.close()


def failures(counts: Counter[str], ok: Iterable[str]) -> Counter[str]:
    """The classes of ``counts`` that are not in ``ok``."""
    good = set(ok)
    return Counter({k: v for k, v in counts.items() if k not in good})
