"""The annotations a predictor's pods carry, as KServe's controller and its pod mutator write them.

KServe builds the pod template's annotations from three sources, the later winning: the
runtime's ``spec.annotations`` (its ``ServingRuntimePodSpec``), the InferenceService's own
annotations, then ``spec.predictor.annotations``. That is how a runtime's
``prometheus.kserve.io/port`` and ``prometheus.kserve.io/path`` (where its model server serves
metrics) reach every pod, and how ``serving.kserve.io/enable-prometheus-scraping`` on the
InferenceService reaches the pod mutator.

The mutator (KServe's ``metrics_aggregate_injector``) then defaults
``serving.kserve.io/enable-metric-aggregation`` and ``serving.kserve.io/enable-prometheus-scraping``
from ``metricsAggregator`` in ``inferenceservice-config`` and, when scraping is enabled, writes
``prometheus.io/port`` and ``prometheus.io/path: /metrics``. There it points the port at
queue-proxy's metrics (9091), or at queue-proxy's aggregate of its own and the model server's
metrics (9088) when aggregation is on. The local target has no queue-proxy, so the port written
here is the model server's own metrics port (the runtime's ``prometheus.kserve.io/port``): the pod
stays scrapeable and what a scrape finds is the model server's series, which is what the
aggregate port would carry. It also writes ``prometheus.io/scrape: "true"``, which KServe's
mutator does not, so that the usual ``kubernetes-pods`` relabelling of a cluster's Prometheus
(keep pods whose ``prometheus.io/scrape`` is true) keeps them without a KServe-specific job.

Port values are the container's (KServe's containers listen on 8080); the kubelet renumbers them
with the container's port, as it renumbers the ports themselves (``kubelet.renumbered``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kserve_local.faults import Fault, Faults

KSERVE_PORT, KSERVE_PATH = "prometheus.kserve.io/port", "prometheus.kserve.io/path"
SCRAPE, PORT, PATH = "prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"
ENABLE_SCRAPING = "serving.kserve.io/enable-prometheus-scraping"
ENABLE_AGGREGATION = "serving.kserve.io/enable-metric-aggregation"
DEFAULT_CONTAINER_PORT, DEFAULT_PATH = "8080", "/metrics"  # the mutator's defaults for the kserve-container
# What the metrics-endpoint-404 fault points the pods at: a path the model servers answer 404.
WRONG_PATH = "/stats"
# Annotations a kubectl client writes that are not the service's own settings.
NOT_COPIED = ("kubectl.kubernetes.io/last-applied-configuration",)


def pod_annotations(
    runtime: Mapping[str, str],
    isvc: Mapping[str, str],
    predictor: Mapping[str, str],
    aggregator: Mapping[str, str],
    faults: Faults,
) -> dict[str, str]:
    """The pod's annotations: the three sources merged, then the metrics mutator's part."""
    merged = {**runtime, **{k: v for k, v in isvc.items() if k not in NOT_COPIED}, **predictor}
    if Fault.METRICS_ENDPOINT_404 in faults:
        merged[KSERVE_PATH] = WRONG_PATH
    merged.setdefault(ENABLE_AGGREGATION, str(aggregator.get("enableMetricAggregation", "")))
    scraping = merged.setdefault(ENABLE_SCRAPING, str(aggregator.get("enablePrometheusScraping", "")))
    # The no-prometheus-annotations fault: a KServe whose mutator ignores the setting.
    if scraping == "true" and Fault.NO_PROMETHEUS_ANNOTATIONS not in faults:
        merged[SCRAPE] = "true"
        merged[PORT] = merged.get(KSERVE_PORT, DEFAULT_CONTAINER_PORT)
        merged[PATH] = merged.get(KSERVE_PATH, DEFAULT_PATH)
    return merged
