"""Canary rollout, promotion and rollback (extended, Knative): KServe's rollout strategy, end to end.

KServe docs: "Canary rollout strategy is only supported in serverless deployment mode." One
InferenceService (``sklearn-iris-rollout``) goes through the documented steps in order: a canary
at 10 %, promotion, rollback. The canary serves the same model under another name
(``--model_name=sklearn-iris-canary``), and every request asks KServe's V1 model list
(``GET /v1/models``), so every answer names the revision that gave it, on any cluster with
KServe's stock runtime and sample model. Each check waits
(``--kserve-traffic-timeout``) for the status to show the split first, then judges the answers; a check
whose predecessor did not pass is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import allure
import pytest

from kserve_conformance.checks import statistics
from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.spec import EXTENDED, After, conformance
from kserve_conformance.cluster import rollout
from kserve_conformance.cluster.rollout import revision_state
from kserve_conformance.dataplane import traffic
from kserve_conformance.dataplane.traffic import CANARY, OLD, ClosedLoop, describe_counts
from kserve_conformance.fixtures.lifecycle import changing_service
from kserve_conformance.fixtures.owned import ChangingService
from kserve_conformance.reporting.evidence import counts_property
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
ROLLOUT = LIFECYCLE["rollout"]
FEATURES = ("Knative", "Canary")
KNATIVE_ONLY = "Canary rollout strategy is only supported in serverless deployment mode (KServe docs)"
SPLIT, PROMOTION = "CanaryTrafficSplit", "CanaryPromotion"
pytestmark = pytest.mark.lifecycle
Problem = Callable[[dict[str, Any]], str | None]  # why the status is not yet what a check waits for; None once it is


@dataclass
class Revisions:
    """What the canary split found out for promotion and rollback: the two revisions it told apart."""

    old: str = ""  # latestRolledoutRevision before the canary
    new: str = ""  # the canary's revision


@dataclass
class Rollout:
    """The module's service and what its steps learnt, typed: the steps' order is the collection's
    (``After``), never this object's, so nothing here depends on the file's order."""

    service: ChangingService
    revisions: Revisions = field(default_factory=Revisions)


@pytest.fixture(scope="module")
def rollout_service(request: pytest.FixtureRequest) -> Iterator[Rollout]:
    with changing_service(
        request, DATA / ROLLOUT["manifest"], ROLLOUT["identify"], knative_only=KNATIVE_ONLY
    ) as service:
        yield Rollout(service)


@pytest.fixture(scope="module")
def timeouts(kserve_lifecycle_timeouts: Timeouts) -> Timeouts:
    return kserve_lifecycle_timeouts


def wait_for(service: ChangingService, problem: Problem, timeout_s: float, what: str) -> dict[str, Any]:
    """Poll the status until ``problem(isvc)`` is None; fail naming what was still wrong and the traffic seen."""
    with allure.step(f"wait for {what} (timeout {timeout_s:g}s)"):
        polled = rollout.poll_until(service.current, lambda obj: problem(obj) is None, timeout_s)
    if not polled.reached:
        pytest.fail(
            f"{what} not reached within {timeout_s:g}s: {problem(polled.last)}; status: {revision_state(polled.last)}",
            pytrace=False,
        )
    status: dict[str, Any] = polled.last  # what service.current() returned
    return status


def classify(status: int | None, body: bytes) -> str:
    return traffic.answer_class(status, body, ROLLOUT["answers"])


def sample(service: ChangingService, n: int, timeout_s: float) -> Counter[str]:
    """``n`` requests one after the other, each answer (or transport error) counted by class."""
    counts: Counter[str] = Counter()
    for _ in range(n):
        status, body, _, _ = service.timed_predict(timeout_s)
        counts[classify(status, body)] += 1
    return counts


def during_change(
    service: ChangingService, timeouts: Timeouts, patch: dict[str, Any], problem: Problem, what: str
) -> tuple[dict[str, Any], Counter[str]]:
    """Patch with closed-loop traffic running; wait for the status and then for the data path to settle;
    return the status and the traffic's counts.

    The traffic runs on until the check's own requests succeed N times in a row, so requests the
    data path drops just after the status changed are counted too.
    """
    request = service.closed_loop_request(timeouts.request_s)
    with ClosedLoop(request, classify, workers=ROLLOUT["background"]["workers"]) as loop:
        service.patch(patch)
        try:
            status = wait_for(service, problem, timeouts.traffic_s, what)
            service.settle()
        finally:
            counts = loop.stop()
    return status, counts


def change_then_all_answered_by(
    service: ChangingService,
    timeouts: Timeouts,
    item: pytest.Item,
    change: str,
    patch: dict[str, Any],
    problem: Any,
    answer: str,
    revision: str,
) -> None:
    """Patch under closed-loop traffic (none may fail), then every one of M requests answered by ``answer``."""
    _, counts = during_change(service, timeouts, patch, problem, change)
    counts_property(item, f"during-{change}", counts)
    assert_no_failures(counts, change)
    m = ROLLOUT["after"]["requests"]
    after = sample(service, m, timeouts.request_s)
    counts_property(item, f"after-{change}", after)
    assert after[answer] == m, (
        f"{m - after[answer]} of {m} requests after the {change} were not answered by "
        f"{revision}: {describe_counts(after)}"
    )


def assert_no_failures(counts: Counter[str], what: str) -> None:
    failed = traffic.failures(counts, (OLD, CANARY))
    total = sum(counts.values())
    assert not failed, f"{sum(failed.values())} of {total} requests failed during {what}: {describe_counts(failed)}"


@conformance(
    SPLIT,
    "With spec.predictor.canaryTrafficPercent: 10 on a changed predictor, the status shows "
    "the new revision at 10 % (tag latest) and the last rolled-out one at 90 % (tag prev), and the "
    "share of answers from the canary agrees with 10 % (exact binomial interval, 99.9 %). KServe docs: "
    '"the canary rollout strategy is configured to route 10% of the traffic to the new revision, 90% '
    'of the traffic will go to the LastestRolledoutRevision".',
    level=EXTENDED,
    features=FEATURES,
)
def test_canary_traffic_split(rollout_service: Rollout, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = rollout_service.service
    old = rollout.predictor_status(service.ready).get("latestRolledoutRevision")
    assert old, (
        f"status.components.predictor.latestRolledoutRevision is missing once Ready: {revision_state(service.ready)}"
    )
    percent = ROLLOUT["canaryPercent"]
    service.patch(ROLLOUT["canaryPatch"])
    status = wait_for(
        service,
        lambda obj: rollout.canary_split_problem(obj, old, percent),
        timeouts.traffic_s,
        f"the {percent} % canary split",
    )
    service.settle()
    new = rollout.predictor_status(status)["latestReadyRevision"]
    rollout_service.revisions = Revisions(old=old, new=new)
    n, confidence = ROLLOUT["split"]["requests"], ROLLOUT["split"]["confidence"]
    with allure.step(f"{n} requests, each answer classified old ({old}) / canary ({new})"):
        counts = sample(service, n, timeouts.request_s)
    counts_property(request.node, "canary-split", counts)
    failed = traffic.failures(counts, (OLD, CANARY))
    assert not failed, (
        f"{sum(failed.values())} of {n} requests were answered by neither revision: {describe_counts(failed)}"
    )
    lo, hi = statistics.binomial_interval(n, percent / 100, confidence)
    request.node.user_properties.append(("kserve-conformance.canary-interval", f"[{lo}, {hi}]"))
    k = counts[CANARY]
    assert lo <= k <= hi, (
        f"{k} of {n} answered by the canary revision {new}, outside the {confidence * 100:g} % "
        f"binomial interval [{lo}, {hi}] for {percent} %"
    )


@conformance(
    PROMOTION,
    "Removing canaryTrafficPercent promotes the canary: 100 % to the new revision, which "
    "becomes latestRolledoutRevision (the old one previousRolledoutRevision), and no request fails "
    'during the change. KServe docs: "the rollout strategy promotes the LatestReadyRevision ... to the '
    "LatestRolledoutRevision. Since it is now promoted, the LatestRolledoutRevision gets 100% of the "
    'traffic".',
    level=EXTENDED,
    features=FEATURES,
    after=After(SPLIT, "there is no canary to promote"),
)
def test_canary_promotion(rollout_service: Rollout, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service, old, new = rollout_service.service, rollout_service.revisions.old, rollout_service.revisions.new
    change_then_all_answered_by(
        service,
        timeouts,
        request.node,
        "promotion",
        ROLLOUT["promotePatch"],
        lambda obj: rollout.promoted_problem(obj, old, new),
        CANARY,
        f"the promoted revision {new}",
    )


@conformance(
    "CanaryRollback",
    "canaryTrafficPercent: 0 after a promotion rolls back: 100 % to the previous "
    "rolled-out revision, every answer from the old model, no request failing during the change (even "
    'when the old revision was scaled to zero and the first requests wait for it). KServe docs: "If a '
    "rollback needs to happen, 100% of the traffic will be pinned to the previous healthy/good revision - "
    'the PreviousRolledoutRevision."',
    level=EXTENDED,
    features=FEATURES,
    after=After(PROMOTION, "there is no previous rolled-out revision to roll back to"),
)
def test_canary_rollback(rollout_service: Rollout, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service, old, new = rollout_service.service, rollout_service.revisions.old, rollout_service.revisions.new
    change_then_all_answered_by(
        service,
        timeouts,
        request.node,
        "rollback",
        ROLLOUT["rollbackPatch"],
        lambda obj: rollout.rolled_back_problem(obj, old, new),
        OLD,
        f"the previous revision {old}",
    )
