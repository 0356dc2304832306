"""Custom-metric autoscaling (extended): KServe's KEDA path scales a predictor on a Prometheus query.

CNCF AI Conformance's ``pod_autoscaling`` asks that pods scale "based on custom metrics relevant to
AI/ML workloads"; KServe's way is KEDA (Standard mode, ``serving.kserve.io/autoscalerClass: keda``,
``spec.predictor.autoScaling.metrics[]`` of ``type: External`` with a Prometheus query). The check
deploys such a predictor whose trigger is the model server's own request rate, as Prometheus
scrapes it, drives closed-loop load until its ready replicas rise above ``minReplicas``, stops, and
waits for them to come back. The verdict rests on the replica counts (ready predictor pods, as
``test_scaling.py`` counts them); the ScaledObject KServe made and the query's value are quoted.
Waits are bounded by ``--kserve-scale-timeout``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import allure
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, not_supported
from kserve_conformance.checks.validity import witnessing
from kserve_conformance.cluster import keda, rollout
from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.cluster.rollout import describe_pods
from kserve_conformance.dataplane import traffic
from kserve_conformance.dataplane.promql import PromQL
from kserve_conformance.dataplane.traffic import ClosedLoop, error_counts
from kserve_conformance.fixtures import custom_metric
from kserve_conformance.fixtures.custom_metric import KedaService
from kserve_conformance.fixtures.lifecycle import changing_service, cluster_for
from kserve_conformance.fixtures.lifecycle_steps import ok_predict
from kserve_conformance.reporting.evidence import attach_text, counts_property, figure
from kserve_conformance.timeouts import Timeouts

LIFECYCLE = load_yaml(DATA / "lifecycle.yaml")
CUSTOM = LIFECYCLE["customMetric"]
pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="module")
def timeouts(kserve_lifecycle_timeouts: Timeouts) -> Timeouts:
    return kserve_lifecycle_timeouts


@pytest.fixture(scope="module")
def keda_service(request: pytest.FixtureRequest) -> Iterator[KedaService]:
    cluster = cluster_for(request)
    if keda.installed(cluster.api) is False:
        not_supported(Feature.CUSTOM_METRIC_AUTOSCALING, f"KEDA is not installed: CRD {keda.CRD} not found")
    prometheus: PromQL = request.getfixturevalue("kserve_prometheus")
    address = custom_metric.server_address(request, cluster, prometheus)
    namespace: str = request.getfixturevalue("kserve_namespace")
    path = DATA / CUSTOM["manifest"]
    manifest = InferenceServices.load_manifest(path.read_text())
    window = custom_metric.rate_window(custom_metric.scrape_interval_s(prometheus))
    query = custom_metric.trigger_query(namespace, manifest["metadata"]["name"], window)
    metrics = custom_metric.with_trigger(manifest, address, query)["spec"]["predictor"]
    patch = {"spec": {"predictor": {"autoScaling": {"metrics": metrics["autoScaling"]["metrics"]}}}}
    with changing_service(request, path, LIFECYCLE["request"], patch=patch) as service:
        yield KedaService(service, prometheus, query, custom_metric.threshold(manifest))


@conformance(
    "CustomMetricAutoscale",
    "A predictor with serving.kserve.io/autoscalerClass: keda and an External Prometheus metric (its own "
    "request rate) gets a KEDA ScaledObject; load raises its ready replicas above minReplicas and, once the "
    "load stops, they return to minReplicas, each within --kserve-scale-timeout.",
    spec='CNCF AI Conformance (pod_autoscaling, MUST): "If the platform supports the HorizontalPodAutoscaler, it '
    "must function correctly for pods utilizing accelerators. This includes the ability to scale these Pods "
    'based on custom metrics relevant to AI/ML workloads." KServe docs: "Scale an InferenceService in '
    'Kubernetes using LLM (Large Language Model) metrics collected in Prometheus."',
    level=EXTENDED,
    features=(Feature.CUSTOM_METRIC_AUTOSCALING,),
)
def test_custom_metric_autoscale(keda_service: KedaService, timeouts: Timeouts, request: pytest.FixtureRequest) -> None:
    """A failure names what the client and this machine went through meanwhile, as AutoscaleUp's
    does, but is not excused by it: the replicas follow a request rate Prometheus measured at the
    model server, which a slow client lowers but load far above the threshold still exceeds."""
    service, minimum, workers = keda_service.service, CUSTOM["minReplicas"], CUSTOM["load"]["workers"]
    api, name = service.api.core.api_client, service.name
    trigger = f"the query {keda_service.query!r} above {keda_service.threshold} per replica"
    service.settle()
    ok_predict(service, timeouts.request_s)
    scaled = keda.scaled_object(api, service.namespace, name)
    attach_text("scaledobject.txt", keda.describe(scaled))
    assert scaled is not None, (
        f"KServe created no ScaledObject {keda.scaled_object_name(name)} for a Ready predictor with "
        f"serving.kserve.io/autoscalerClass: keda in Standard mode"
    )
    predict = service.closed_loop_request(timeouts.request_s)
    with allure.step(
        f"closed-loop load, {workers} concurrent, until ready replicas > {minimum} (timeout {timeouts.scale_s:g}s)"
    ):
        loop = ClosedLoop(predict, lambda status, _body: str(status) if status else "transport error", workers)
        with loop, witnessing() as witness:
            before = witness.mark()
            up = rollout.poll_until(service.ready_pods, lambda pods: len(pods) > minimum, timeouts.scale_s)
            value = custom_metric.value(keda_service.prometheus, keda_service.query)
            scaled = keda.scaled_object(api, service.namespace, name)
            counts: Counter[str] = loop.stop()
            window = witness.window(before, witness.mark())
    counts_property(request.node, "custom-metric-load", counts)
    attach_text("trigger-at-scale-up.txt", f"{keda_service.query} = {value}\n{keda.describe(scaled)}\n")
    load = f"{workers} concurrent, {sum(counts.values())} requests sent, errors: {error_counts(counts)}"
    if not up.reached:
        pytest.fail(
            f"ready replicas stayed at {len(up.last)} (minReplicas {minimum}) for {timeouts.scale_s:g}s of load "
            f"({load}): KEDA did not scale the predictor on its custom metric, {trigger} (its value at the end: "
            f"{value}); {keda.describe(scaled)}; {describe_pods(up.last)}; meanwhile: {window.describe()}",
            pytrace=False,
        )
    figure(request.node, "time-to-scale-up-s", up.elapsed_s)
    errors = traffic.failures(counts, ("200",))
    assert not errors, f"{sum(errors.values())} of {sum(counts.values())} requests failed under load: {load}"
    stopped = time.monotonic()
    with allure.step(f"no load: poll until ready replicas == {minimum} on {CUSTOM['consecutive']} polls"):
        down = rollout.poll_until(
            service.ready_pods, lambda pods: len(pods) == minimum, timeouts.scale_s, consecutive=CUSTOM["consecutive"]
        )
    if not down.reached:
        scaled = keda.scaled_object(api, service.namespace, name)
        value = custom_metric.value(keda_service.prometheus, keda_service.query)
        pytest.fail(
            f"{time.monotonic() - stopped:.0f} s after the load stopped the predictor still has "
            f"{describe_pods(down.last)}, minReplicas is {minimum}: KEDA did not scale it back down on its custom "
            f"metric (its value now: {value}); {keda.describe(scaled)}",
            pytrace=False,
        )
    figure(request.node, "time-to-scale-down-s", down.elapsed_s)
