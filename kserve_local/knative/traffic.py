"""KServe's canary traffic rules (Knative mode), as pure functions the local target applies.

KServe writes the Knative Service's traffic from ``canaryTrafficPercent`` and the last revision it
rolled out, and Knative reports back which revision is latest-ready; KServe's status propagation
then moves ``latestRolledoutRevision`` / ``previousRolledoutRevision``. Two reconciles can be
needed for one change (a rollback after a promotion first moves the rolled-out revision back,
then routes to it), so :func:`settle` iterates to the fixed point a real controller reaches.

The rules follow KServe's ``ksvc_reconciler`` (the traffic targets) and
``InferenceServiceStatus.PropagateStatus`` (the rolled-out revisions), read, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One entry of ``status.components.predictor.traffic``."""

    revision: str
    percent: int
    latest: bool
    tag: str = ""

    def as_status(self) -> dict[str, object]:
        entry: dict[str, object] = {
            "revisionName": self.revision,
            "percent": self.percent,
            "latestRevision": self.latest,
        }
        if self.tag:
            entry["tag"] = self.tag
        return entry


@dataclass(frozen=True)
class Rollout:
    """What KServe remembers between reconciles: the last two revisions that got 100 %."""

    latest: str = ""
    previous: str = ""


def route(canary: int | None, latest_ready: str, rolled_out: str) -> list[Target]:
    """The traffic KServe asks Knative for.

    With ``canaryTrafficPercent`` and a rolled-out revision, the latest ready revision gets the
    canary share (tag ``latest``) and the rolled-out one the rest (tag ``prev``); otherwise the
    latest ready revision gets everything. ``latestRevision: true`` follows the latest *ready*
    revision, so a canary that is still starting is not routed yet.
    """
    if canary is not None and rolled_out:
        return [Target(latest_ready, canary, True, "latest"), Target(rolled_out, 100 - canary, False, "prev")]
    return [Target(latest_ready, 100, True)]


def propagate(traffic: list[Target], latest_ready: str, latest_created: str, rollout: Rollout) -> Rollout:
    """The rolled-out revisions after Knative reports ``traffic``.

    A latest-ready revision that gets 100 % becomes the rolled-out one (the old one moves to
    previous); a rolled-out latest revision whose share drops below 100 % while one revision holds
    all of it is a rollback, and the previous rolled-out revision becomes the rolled-out one again.
    """
    per_revision: dict[str, int] = {}
    for target in traffic:
        per_revision[target.revision] = per_revision.get(target.revision, 0) + target.percent
    for target in traffic:
        if not (target.latest and target.revision == latest_ready):
            continue
        if rollout.latest != latest_ready:
            if target.percent == 100:
                return Rollout(latest_ready, rollout.latest)
        elif (
            latest_ready == latest_created
            and target.percent < 100
            and per_revision.get(target.revision) == 100
            and rollout.previous
        ):
            return Rollout(rollout.previous, rollout.previous)
    return rollout


def settle(
    canary: int | None, latest_ready: str, latest_created: str, rollout: Rollout
) -> tuple[list[Target], Rollout]:
    """Reconcile until nothing moves (at most a few rounds): the traffic and rolled-out revisions."""
    traffic = route(canary, latest_ready, rollout.latest)
    for _ in range(4):
        moved = propagate(traffic, latest_ready, latest_created, rollout)
        if moved == rollout:
            break
        rollout = moved
        traffic = route(canary, latest_ready, rollout.latest)
    return traffic, rollout
