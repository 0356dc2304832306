"""Scale to zero, cold start and autoscaling (extended): replicas follow the load, as KServe documents.

Replicas are counted from the predictor's pods (``serving.kserve.io/inferenceservice=NAME,
component=predictor``): a pod counts when it is not being deleted and its Ready condition is
True, what ``kubectl get pods`` shows as READY. Waits poll every ``rollout.POLL_S`` within
``--kserve-scale-timeout`` and need consecutive polls to agree. Times (idle to zero, cold start, scale
up, scale down) are reported as figures; only the cold start has a ceiling
(``--kserve-cold-start-ceiling``), a bound on the target, never a timed assertion of the suite.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import allure
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, After, conformance, invalid_measurement, not_supported
from kserve_conformance.checks.validity import witnessing
from kserve_conformance.cluster import rollout
from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.cluster.rollout import describe_pods
from kserve_conformance.dataplane import traffic
from kserve_conformance.dataplane.traffic import ClosedLoop, error_counts
from kserve_conformance.fixtures.lifecycle import changing_service, cluster_for
from kserve_conformance.fixtures.lifecycle_steps import ok_predict
from kserve_conformance.fixtures.owned import ChangingService, mode_of
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.reporting.evidence import counts_property, figure
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
TO_ZERO, AUTOSCALE = LIFECYCLE["scaleToZero"], LIFECYCLE["autoscale"]
ZERO_FEATURES = (Feature.KNATIVE, Feature.SCALE_TO_ZERO)
KNATIVE_ONLY = "scale to zero is Knative's (KServe docs: \"'Scale down to zero' is not supported in Standard mode.\")"
SCALE_TO_ZERO, AUTOSCALE_UP = "ScaleToZero", "AutoscaleUp"
pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def timeouts(kserve_lifecycle_timeouts: Timeouts) -> Timeouts:
    return kserve_lifecycle_timeouts


# --- scale to zero and cold start ------------------------------------------------------------------
@pytest.fixture(scope="module")
def idle_service(request: pytest.FixtureRequest) -> Iterator[ChangingService]:
    if cluster_for(request).facts.scale_to_zero is False:  # a cluster-wide choice, read from the cluster
        not_supported(Feature.SCALE_TO_ZERO, 'knative-serving/config-autoscaler sets enable-scale-to-zero: "false"')
    with changing_service(
        request, DATA / TO_ZERO["manifest"], LIFECYCLE["request"], knative_only=KNATIVE_ONLY
    ) as service:
        yield service


@conformance(
    SCALE_TO_ZERO,
    "With minReplicas: 0, an idle predictor is scaled to zero replicas.",
    spec='Knative docs: "if an application is receiving no traffic and scale to zero is enabled, Knative Serving '
    'scales the application down to zero replicas."',
    level=EXTENDED,
    features=ZERO_FEATURES,
)
def test_scale_to_zero(idle_service: ChangingService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = idle_service
    service.settle()
    ok_predict(service, timeouts.request_s)
    idle_since = time.monotonic()
    with allure.step(
        f"poll ready predictor pods until 0 on {TO_ZERO['consecutive']} polls (timeout {timeouts.scale_s:g}s)"
    ):
        polled = rollout.poll_until(
            service.ready_pods, lambda pods: not pods, timeouts.scale_s, consecutive=TO_ZERO["consecutive"]
        )
    if not polled.reached:
        pytest.fail(
            f"after {time.monotonic() - idle_since:.0f} s idle the predictor still has {describe_pods(polled.last)}",
            pytrace=False,
        )
    figure(request.node, "idle-to-zero-s", polled.elapsed_s)


@conformance(
    "ColdStart",
    "The first request to a predictor scaled to zero succeeds (the activator holds it until a replica answers) and "
    "takes no longer than --kserve-cold-start-ceiling; the time is reported.",
    spec='Knative docs: the activator "buffers requests" for revisions scaled to zero',
    level=EXTENDED,
    features=ZERO_FEATURES,
    after=After(SCALE_TO_ZERO, "the predictor never scaled to zero and there is no cold start", not_applicable=True),
)
def test_cold_start(request: pytest.FixtureRequest, idle_service: ChangingService, timeouts: Timeouts) -> None:
    """Over the ceiling only by as much as the client itself was held up is no verdict: invalid."""
    service = idle_service
    ceiling = suite_config.of(request.config).cold_start_ceiling_s
    with allure.step("one predict request to the predictor at zero replicas, timed"), witnessing() as witness:
        before = witness.mark()
        seconds = ok_predict(service, max(timeouts.request_s, ceiling))
        window = witness.window(before, witness.mark())
    figure(request.node, "cold-start-s", seconds)
    if window.covers_excess(seconds, ceiling):
        invalid_measurement(
            f"the first request after scale to zero took {seconds:.3f} s, above the ceiling of {ceiling:g} s, "
            f"by less than the client itself was held up ({window.describe()})"
        )
    assert seconds <= ceiling, (
        f"the first request after scale to zero took {seconds:.3f} s, above the "
        f"--kserve-cold-start-ceiling of {ceiling:g} s"
    )


# --- autoscaling ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def autoscale_service(request: pytest.FixtureRequest) -> Iterator[ChangingService]:
    path = DATA / AUTOSCALE["manifest"]
    by_mode = AUTOSCALE["byMode"][mode_of(InferenceServices.load_manifest(path.read_text()), cluster_for(request))]
    with changing_service(request, path, LIFECYCLE["request"], patch=by_mode) as service:
        yield service


@conformance(
    AUTOSCALE_UP,
    "A load above the scale target raises the predictor's ready replicas above minReplicas within "
    "--kserve-scale-timeout, no request failing; Knative mode: scaleMetric concurrency (KPA), Standard mode: "
    "scaleMetric cpu (HPA).",
    spec="KServe docs: \"KServe supports the implementation of Knative Pod Autoscaler (KPA) and Kubernetes' "
    'Horizontal Pod Autoscaler (HPA)."',
    level=EXTENDED,
    features=(Feature.AUTOSCALING,),
)
def test_autoscale_up(autoscale_service: ChangingService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    """A failure names what the client and this machine went through meanwhile (stalls, CPU wait,
    Linux PSI), but is not excused by it: the load itself contends for the CPU on a small machine,
    so the figure is large on a healthy run too, and a CPU-utilization autoscaler (HPA) starved by
    its neighbours would not scale on a real node either. The Standard-mode runs of the self-tests
    are therefore serial."""
    service = autoscale_service
    minimum, workers = AUTOSCALE["minReplicas"], AUTOSCALE["load"]["workers"]
    service.settle()
    ok_predict(service, timeouts.request_s)
    predict = service.closed_loop_request(timeouts.request_s)
    with allure.step(
        f"closed-loop load, {workers} concurrent, until ready replicas > {minimum} (timeout {timeouts.scale_s:g}s)"
    ):
        loop = ClosedLoop(predict, lambda status, _body: str(status) if status else "transport error", workers)
        with loop, witnessing() as witness:
            before = witness.mark()
            polled = rollout.poll_until(service.ready_pods, lambda pods: len(pods) > minimum, timeouts.scale_s)
            counts: Counter[str] = loop.stop()
            window = witness.window(before, witness.mark())
    counts_property(request.node, "autoscale-load", counts)
    load = f"{workers} concurrent, {sum(counts.values())} requests sent, errors: {error_counts(counts)}"
    stayed = (
        f"ready replicas stayed at {len(polled.last)} (minReplicas {minimum}) for {timeouts.scale_s:g}s "
        f"of load ({load}); {describe_pods(polled.last)}"
    )
    if not polled.reached:
        pytest.fail(f"{stayed}; meanwhile: {window.describe()}", pytrace=False)
    figure(request.node, "time-to-scale-up-s", polled.elapsed_s)
    errors = traffic.failures(counts, ("200",))
    assert not errors, f"{sum(errors.values())} of {sum(counts.values())} requests failed under load: {load}"


@conformance(
    "AutoscaleDown",
    "Once the load stops, ready replicas return to minReplicas within --kserve-scale-timeout.",
    spec='Knative docs: "If scaling to zero is disabled, the application is scaled down to the minimum number of '
    'replicas"',
    level=EXTENDED,
    features=(Feature.AUTOSCALING,),
    after=After(AUTOSCALE_UP, "there is no scale-up to come down from"),
)
def test_autoscale_down(autoscale_service: ChangingService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    service = autoscale_service
    minimum = AUTOSCALE["minReplicas"]
    with allure.step(f"no load: poll until ready replicas == {minimum} on {AUTOSCALE['consecutive']} polls"):
        polled = rollout.poll_until(
            service.ready_pods,
            lambda pods: len(pods) == minimum,
            timeouts.scale_s,
            consecutive=AUTOSCALE["consecutive"],
        )
    if not polled.reached:
        pytest.fail(
            f"{timeouts.scale_s:g} s after the load stopped the predictor still has "
            f"{describe_pods(polled.last)}, minReplicas is {minimum}",
            pytrace=False,
        )
    figure(request.node, "time-to-scale-down-s", polled.elapsed_s)
