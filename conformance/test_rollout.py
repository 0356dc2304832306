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

from collections.abc import Iterator

import allure
import pytest

from kserve_conformance.checks import statistics
from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, After, conformance
from kserve_conformance.cluster import rollout
from kserve_conformance.cluster.rollout import revision_state
from kserve_conformance.dataplane import traffic
from kserve_conformance.dataplane.traffic import CANARY, OLD, describe_counts
from kserve_conformance.fixtures.lifecycle import changing_service
from kserve_conformance.fixtures.lifecycle_steps import (
    Revisions,
    Rollout,
    change_then_all_answered_by,
    sample,
    wait_for,
)
from kserve_conformance.reporting.evidence import counts_property
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
ROLLOUT = LIFECYCLE["rollout"]
FEATURES = (Feature.KNATIVE, Feature.CANARY)
KNATIVE_ONLY = "Canary rollout strategy is only supported in serverless deployment mode (KServe docs)"
SPLIT, PROMOTION = "CanaryTrafficSplit", "CanaryPromotion"
pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def rollout_service(request: pytest.FixtureRequest) -> Iterator[Rollout]:
    with changing_service(
        request, DATA / ROLLOUT["manifest"], ROLLOUT["identify"], knative_only=KNATIVE_ONLY
    ) as service:
        yield Rollout(service)


@pytest.fixture(scope="module")
def timeouts(kserve_lifecycle_timeouts: Timeouts) -> Timeouts:
    return kserve_lifecycle_timeouts


@conformance(
    SPLIT,
    "With spec.predictor.canaryTrafficPercent: 10 on a changed predictor, the status shows the new revision at 10 % "
    "(tag latest) and the last rolled-out one at 90 % (tag prev), and the share of answers from the canary agrees "
    "with 10 % (exact binomial interval, 99.9 %).",
    spec='KServe docs: "the canary rollout strategy is configured to route 10% of the traffic to the new revision, '
    '90% of the traffic will go to the LastestRolledoutRevision"',
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
    "Removing canaryTrafficPercent promotes the canary: 100 % to the new revision, which becomes "
    "latestRolledoutRevision (the old one previousRolledoutRevision), and no request fails during the change.",
    spec='KServe docs: "the rollout strategy promotes the LatestReadyRevision ... to the LatestRolledoutRevision. '
    'Since it is now promoted, the LatestRolledoutRevision gets 100% of the traffic"',
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
    "canaryTrafficPercent: 0 after a promotion rolls back: 100 % to the previous rolled-out revision, every answer "
    "from the old model, no request failing during the change (even when the old revision was scaled to zero and the "
    "first requests wait for it).",
    spec='KServe docs: "If a rollback needs to happen, 100% of the traffic will be pinned to the previous '
    'healthy/good revision - the PreviousRolledoutRevision."',
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
