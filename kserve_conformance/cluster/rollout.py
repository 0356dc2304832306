"""Reading a rollout from the cluster: ``status.components.predictor`` and the predictor's pods.

Pure functions over the objects the API returns, so the self-tests need no cluster: each says
what differs from the state a check waits for, in a line its timeout message can quote.
Polled, not watched: the conditions span several objects (the service's status, its pods).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kserve_conformance.timeouts import DEFAULT

Obj = dict[str, Any]
POLL_S = DEFAULT.lifecycle_poll_s


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
    revisions = ", ".join(
        f"{k}={predictor.get(k)}"
        for k in (
            "latestCreatedRevision",
            "latestReadyRevision",
            "latestRolledoutRevision",
            "previousRolledoutRevision",
        )
    )
    return (
        f"generation {meta.get('generation')}, observedGeneration {status.get('observedGeneration')}, "
        f"Ready={ready}, {revisions}, traffic {describe_traffic(traffic_of(isvc))}"
    )


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
    missing = missing_entries(
        traffic_of(isvc),
        [
            {"revisionName": new, "latestRevision": True, "percent": canary_percent, "tag": "latest"},
            {"revisionName": old, "latestRevision": False, "percent": 100 - canary_percent, "tag": "prev"},
        ],
    )
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
    missing = missing_entries(
        traffic_of(isvc),
        [{"revisionName": old, "percent": 100}, {"revisionName": new, "latestRevision": True, "percent": 0}],
    )
    return f"traffic lacks {describe_traffic(missing)}" if missing else None


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


def describe_pods(pods: list[str]) -> str:
    """``2 ready replicas (pods a, b)``: what ``ready_pods`` found, for a failure message."""
    n = len(pods)
    return f"{n} ready replica{'' if n == 1 else 's'}" + (
        f" (pod{'' if n == 1 else 's'} {', '.join(pods)})" if pods else ""
    )


def poll_until(
    read: Callable[[], Any],
    holds: Callable[[Any], bool],
    timeout_s: float,
    consecutive: int = 1,
    interval_s: float = POLL_S,
) -> Polled:
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
