"""Canary rollout, promotion and rollback (extended, Knative): KServe's rollout strategy, end to end.

KServe docs: "Canary rollout strategy is only supported in serverless deployment mode." One
InferenceService (``sklearn-iris-rollout``) goes through the documented steps in order: a canary
at 10 %, promotion, rollback. The canary serves the same model under another name
(``--model_name=sklearn-iris-canary``), and every request asks KServe's V1 model list
(``GET /v1/models``), so every answer names the revision that gave it, on any cluster with
KServe's stock runtime and sample model. Each check waits
(``--traffic-timeout``) for the status to show the split first, then judges the answers; a check
whose predecessor did not pass is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import allure
import pytest

from kserve_conformance import lifecycle
from kserve_conformance.catalog import DATA, load_yaml
from kserve_conformance.kube import InferenceServices
from kserve_conformance.lifecycle import CANARY, OLD, ClosedLoop, describe_counts, revision_state
from kserve_conformance.lifecycle_service import LifecycleService, cluster_for, counts_property, deployed
from kserve_conformance.spec import EXTENDED, conformance
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
ROLLOUT = LIFECYCLE["rollout"]
FEATURES = ("Knative", "Canary")
KNATIVE_ONLY = "Canary rollout strategy is only supported in serverless deployment mode (KServe docs)"
SPLIT, PROMOTION = "CanaryTrafficSplit", "CanaryPromotion"
pytestmark = pytest.mark.lifecycle
Problem = Callable[[dict[str, Any]], str | None]  # why the status is not yet what a check waits for; None once it is


@pytest.fixture(scope="module")
def rollout_service(request: pytest.FixtureRequest) -> Iterator[LifecycleService]:
    cluster = cluster_for(request)
    manifest = InferenceServices.load_manifest((DATA / ROLLOUT["manifest"]).read_text())
    with deployed(request, cluster, manifest, ROLLOUT["identify"], knative_only=KNATIVE_ONLY) as service:
        yield service


@pytest.fixture(scope="module")
def timeouts(request: pytest.FixtureRequest) -> Timeouts:
    return cluster_for(request).timeouts


def wait_for(service: LifecycleService, problem: Problem, timeout_s: float, what: str) -> dict[str, Any]:
    """Poll the status until ``problem(isvc)`` is None; fail naming what was still wrong and the traffic seen."""
    with allure.step(f"wait for {what} (timeout {timeout_s:g}s)"):
        polled = lifecycle.poll_until(service.current, lambda obj: problem(obj) is None, timeout_s)
    if not polled.reached:
        pytest.fail(f"{what} not reached within {timeout_s:g}s: {problem(polled.last)}; "
                    f"status: {revision_state(polled.last)}", pytrace=False)
    return polled.last


def classify(status: int | None, body: bytes) -> str:
    return lifecycle.answer_class(status, body, ROLLOUT["answers"])


def sample(service: LifecycleService, n: int, timeout_s: float) -> Counter[str]:
    """``n`` requests one after the other, each answer (or transport error) counted by class."""
    counts: Counter[str] = Counter()
    for _ in range(n):
        status, body, _, _ = service.timed_predict(timeout_s)
        counts[classify(status, body)] += 1
    return counts


def during_change(service: LifecycleService, timeouts: Timeouts, patch: dict[str, Any], problem: Problem,
                  what: str) -> tuple[dict[str, Any], Counter[str]]:
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


def change_then_all_answered_by(service: LifecycleService, timeouts: Timeouts, item: pytest.Item, change: str,
                                patch: dict[str, Any], problem: Any, answer: str, revision: str) -> None:
    """Patch under closed-loop traffic (none may fail), then every one of M requests answered by ``answer``."""
    _, counts = during_change(service, timeouts, patch, problem, change)
    counts_property(item, f"during-{change}", counts)
    assert_no_failures(counts, change)
    m = ROLLOUT["after"]["requests"]
    after = sample(service, m, timeouts.request_s)
    counts_property(item, f"after-{change}", after)
    assert after[answer] == m, (f"{m - after[answer]} of {m} requests after the {change} were not answered by "
                                f"{revision}: {describe_counts(after)}")


def assert_no_failures(counts: Counter[str], what: str) -> None:
    failed = lifecycle.failures(counts, (OLD, CANARY))
    total = sum(counts.values())
    assert not failed, f"{sum(failed.values())} of {total} requests failed during {what}: {describe_counts(failed)}"


@conformance(SPLIT, "With spec.predictor.canaryTrafficPercent: 10 on a changed predictor, the status shows "
             "the new revision at 10 % (tag latest) and the last rolled-out one at 90 % (tag prev), and the "
             "share of answers from the canary agrees with 10 % (exact binomial interval, 99.9 %). KServe docs: "
             "\"the canary rollout strategy is configured to route 10% of the traffic to the new revision, 90% "
             "of the traffic will go to the LastestRolledoutRevision\".", level=EXTENDED, features=FEATURES)
def test_canary_traffic_split(rollout_service: LifecycleService,
                              timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = rollout_service
    old = lifecycle.predictor_status(service.ready).get("latestRolledoutRevision")
    assert old, ("status.components.predictor.latestRolledoutRevision is missing once Ready: "
                 f"{revision_state(service.ready)}")
    percent = ROLLOUT["canaryPercent"]
    service.patch(ROLLOUT["canaryPatch"])
    status = wait_for(service, lambda obj: lifecycle.canary_split_problem(obj, old, percent), timeouts.traffic_s,
                      f"the {percent} % canary split")
    service.settle()
    new = lifecycle.predictor_status(status)["latestReadyRevision"]
    service.facts.update(old=old, new=new)
    n, confidence = ROLLOUT["split"]["requests"], ROLLOUT["split"]["confidence"]
    with allure.step(f"{n} requests, each answer classified old ({old}) / canary ({new})"):
        counts = sample(service, n, timeouts.request_s)
    counts_property(request.node, "canary-split", counts)
    failed = lifecycle.failures(counts, (OLD, CANARY))
    assert not failed, (f"{sum(failed.values())} of {n} requests were answered by neither revision: "
                        f"{describe_counts(failed)}")
    lo, hi = lifecycle.binomial_interval(n, percent / 100, confidence)
    request.node.user_properties.append(("kserve-conformance.canary-interval", f"[{lo}, {hi}]"))
    k = counts[CANARY]
    assert lo <= k <= hi, (f"{k} of {n} answered by the canary revision {new}, outside the {confidence * 100:g} % "
                           f"binomial interval [{lo}, {hi}] for {percent} %")
    service.passed.add(SPLIT)


@conformance(PROMOTION, "Removing canaryTrafficPercent promotes the canary: 100 % to the new revision, which "
             "becomes latestRolledoutRevision (the old one previousRolledoutRevision), and no request fails "
             "during the change. KServe docs: \"the rollout strategy promotes the LatestReadyRevision ... to the "
             "LatestRolledoutRevision. Since it is now promoted, the LatestRolledoutRevision gets 100% of the "
             "traffic\".", level=EXTENDED, features=FEATURES)
def test_canary_promotion(rollout_service: LifecycleService,
                          timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = rollout_service
    if SPLIT not in service.passed:
        pytest.skip(f"{SPLIT} did not pass, so there is no canary to promote")
    old, new = service.facts["old"], service.facts["new"]
    change_then_all_answered_by(service, timeouts, request.node, "promotion", ROLLOUT["promotePatch"],
                                lambda obj: lifecycle.promoted_problem(obj, old, new), CANARY,
                                f"the promoted revision {new}")
    service.passed.add(PROMOTION)


@conformance("CanaryRollback", "canaryTrafficPercent: 0 after a promotion rolls back: 100 % to the previous "
             "rolled-out revision, every answer from the old model, no request failing during the change (even "
             "when the old revision was scaled to zero and the first requests wait for it). KServe docs: \"If a "
             "rollback needs to happen, 100% of the traffic will be pinned to the previous healthy/good revision - "
             "the PreviousRolledoutRevision.\"", level=EXTENDED, features=FEATURES)
def test_canary_rollback(rollout_service: LifecycleService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = rollout_service
    if PROMOTION not in service.passed:
        pytest.skip(f"{PROMOTION} did not pass, so there is no previous rolled-out revision to roll back to")
    old, new = service.facts["old"], service.facts["new"]
    change_then_all_answered_by(service, timeouts, request.node, "rollback", ROLLOUT["rollbackPatch"],
                                lambda obj: lifecycle.rolled_back_problem(obj, old, new), OLD,
                                f"the previous revision {old}")
