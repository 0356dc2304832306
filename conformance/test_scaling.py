"""Scale to zero, cold start and autoscaling (extended): replicas follow the load, as KServe documents.

Replicas are counted from the predictor's pods (``serving.kserve.io/inferenceservice=NAME,
component=predictor``): a pod counts when it is not being deleted and its Ready condition is
True, what ``kubectl get pods`` shows as READY. Waits poll every ``lifecycle.POLL_S`` within
``--scale-timeout`` and need consecutive polls to agree. Times (idle to zero, cold start, scale
up, scale down) are reported as figures; only the cold start has a ceiling
(``--cold-start-ceiling``), a bound on the target, never a timed assertion of the suite.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import allure
import pytest

from kserve_conformance import config as suite_config
from kserve_conformance import lifecycle
from kserve_conformance.catalog import DATA, load_yaml
from kserve_conformance.kube import InferenceServices
from kserve_conformance.lifecycle import ClosedLoop, describe_counts
from kserve_conformance.lifecycle_service import (
    LifecycleService,
    cluster_for,
    counts_property,
    deployed,
    figure,
    merge,
    mode_of,
)
from kserve_conformance.spec import EXTENDED, conformance, not_applicable, not_supported
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
TO_ZERO, AUTOSCALE = LIFECYCLE["scaleToZero"], LIFECYCLE["autoscale"]
ZERO_FEATURES = ("Knative", "ScaleToZero")
KNATIVE_ONLY = ("scale to zero is Knative's (KServe docs: \"'Scale down to zero' is not supported in Standard "
                "mode.\")")
SCALE_TO_ZERO, AUTOSCALE_UP = "ScaleToZero", "AutoscaleUp"
pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def timeouts(request: pytest.FixtureRequest) -> Timeouts:
    return cluster_for(request).timeouts


def describe_pods(pods: list[str]) -> str:
    n = len(pods)
    return f"{n} ready replica{'' if n == 1 else 's'}" + (f" (pod{'' if n == 1 else 's'} {', '.join(pods)})"
                                                          if pods else "")


def ok_predict(service: LifecycleService, timeout_s: float) -> float:
    """One predict that must answer the tutorial's [1, 1]; returns its duration."""
    status, body, seconds, error = service.timed_predict(timeout_s)
    answer = TO_ZERO["answer"]
    assert status == 200, f"predict answered {status if status is not None else error}: {body[:300]!r}"
    assert json.loads(body) == answer, f"predict returned {body[:300]!r}, expected {answer}"
    return seconds


# --- scale to zero and cold start ------------------------------------------------------------------
@pytest.fixture(scope="module")
def idle_service(request: pytest.FixtureRequest) -> Iterator[LifecycleService]:
    cluster = cluster_for(request)
    if cluster.facts.scale_to_zero is False:  # a cluster-wide choice, read from the cluster
        not_supported("ScaleToZero", "knative-serving/config-autoscaler sets enable-scale-to-zero: \"false\"")
    manifest = InferenceServices.load_manifest((DATA / TO_ZERO["manifest"]).read_text())
    with deployed(request, cluster, manifest, LIFECYCLE["request"], knative_only=KNATIVE_ONLY) as service:
        yield service


@conformance(SCALE_TO_ZERO, "With minReplicas: 0, an idle predictor is scaled to zero replicas. Knative docs: "
             "\"if an application is receiving no traffic and scale to zero is enabled, Knative Serving scales "
             "the application down to zero replicas.\"", level=EXTENDED, features=ZERO_FEATURES)
def test_scale_to_zero(idle_service: LifecycleService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = idle_service
    service.settle()
    ok_predict(service, timeouts.request_s)
    idle_since = time.monotonic()
    with allure.step(f"poll ready predictor pods until 0 on {TO_ZERO['consecutive']} polls "
                     f"(timeout {timeouts.scale_s:g}s)"):
        polled = lifecycle.poll_until(service.ready_pods, lambda pods: not pods, timeouts.scale_s,
                                      consecutive=TO_ZERO["consecutive"])
    if not polled.reached:
        pytest.fail(f"after {time.monotonic() - idle_since:.0f} s idle the predictor still has "
                    f"{describe_pods(polled.last)}", pytrace=False)
    figure(request.node, "idle-to-zero-s", polled.elapsed_s)
    service.passed.add(SCALE_TO_ZERO)


@conformance("ColdStart", "The first request to a predictor scaled to zero succeeds (the activator holds it "
             "until a replica answers) and takes no longer than --cold-start-ceiling; the time is reported. "
             "Knative docs: the activator \"buffers requests\" for revisions scaled to zero.",
             level=EXTENDED, features=ZERO_FEATURES)
def test_cold_start(request: pytest.FixtureRequest, idle_service: LifecycleService, timeouts: Timeouts) -> None:
    service = idle_service
    if SCALE_TO_ZERO not in service.passed:
        not_applicable(f"the predictor never scaled to zero ({SCALE_TO_ZERO} did not pass), so there is no cold start")
    ceiling = suite_config.of(request.config).cold_start_ceiling_s
    with allure.step("one predict request to the predictor at zero replicas, timed"):
        seconds = ok_predict(service, max(timeouts.request_s, ceiling))
    figure(request.node, "cold-start-s", seconds)
    assert seconds <= ceiling, (f"the first request after scale to zero took {seconds:.3f} s, above the "
                                f"--cold-start-ceiling of {ceiling:g} s")


# --- autoscaling ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def autoscale_service(request: pytest.FixtureRequest) -> Iterator[LifecycleService]:
    cluster = cluster_for(request)
    manifest = InferenceServices.load_manifest((DATA / AUTOSCALE["manifest"]).read_text())
    manifest = merge(manifest, AUTOSCALE["byMode"][mode_of(manifest, cluster)])
    with deployed(request, cluster, manifest, LIFECYCLE["request"]) as service:
        yield service


@conformance(AUTOSCALE_UP, "A load above the scale target raises the predictor's ready replicas above "
             "minReplicas within --scale-timeout, no request failing; Knative mode: scaleMetric concurrency "
             "(KPA), Standard mode: scaleMetric cpu (HPA). KServe docs: \"KServe supports the implementation of "
             "Knative Pod Autoscaler (KPA) and Kubernetes' Horizontal Pod Autoscaler (HPA).\"",
             level=EXTENDED, features=("Autoscaling",))
def test_autoscale_up(autoscale_service: LifecycleService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = autoscale_service
    minimum, workers = AUTOSCALE["minReplicas"], AUTOSCALE["load"]["workers"]
    service.settle()
    ok_predict(service, timeouts.request_s)
    predict = service.closed_loop_request(timeouts.request_s)
    with allure.step(f"closed-loop load, {workers} concurrent, until ready replicas > {minimum} "
                     f"(timeout {timeouts.scale_s:g}s)"):
        loop = ClosedLoop(predict, lambda status, _body: str(status) if status else "transport error", workers)
        with loop:
            polled = lifecycle.poll_until(service.ready_pods, lambda pods: len(pods) > minimum, timeouts.scale_s)
            counts: Counter[str] = loop.stop()
    counts_property(request.node, "autoscale-load", counts)
    load = f"{workers} concurrent, {sum(counts.values())} requests sent, errors: {error_counts(counts)}"
    if not polled.reached:
        pytest.fail(f"ready replicas stayed at {len(polled.last)} (minReplicas {minimum}) for {timeouts.scale_s:g}s "
                    f"of load ({load}); {describe_pods(polled.last)}", pytrace=False)
    figure(request.node, "time-to-scale-up-s", polled.elapsed_s)
    errors = lifecycle.failures(counts, ("200",))
    assert not errors, f"{sum(errors.values())} of {sum(counts.values())} requests failed under load: {load}"
    service.passed.add(AUTOSCALE_UP)


def error_counts(counts: Counter[str]) -> str:
    return describe_counts(lifecycle.failures(counts, ("200",)))


@conformance("AutoscaleDown", "Once the load stops, ready replicas return to minReplicas within --scale-timeout. "
             "Knative docs: \"If scaling to zero is disabled, the application is scaled down to the minimum "
             "number of replicas\".", level=EXTENDED, features=("Autoscaling",))
def test_autoscale_down(autoscale_service: LifecycleService,
                        timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = autoscale_service
    if AUTOSCALE_UP not in service.passed:
        pytest.skip(f"{AUTOSCALE_UP} did not pass, so there is no scale-up to come down from")
    minimum = AUTOSCALE["minReplicas"]
    with allure.step(f"no load: poll until ready replicas == {minimum} on {AUTOSCALE['consecutive']} polls"):
        polled = lifecycle.poll_until(service.ready_pods, lambda pods: len(pods) == minimum, timeouts.scale_s,
                                      consecutive=AUTOSCALE["consecutive"])
    if not polled.reached:
        pytest.fail(f"{timeouts.scale_s:g} s after the load stopped the predictor still has "
                    f"{describe_pods(polled.last)}, minReplicas is {minimum}", pytrace=False)
    figure(request.node, "time-to-scale-down-s", polled.elapsed_s)
