"""Monitoring: the cluster's Prometheus discovers the model pods and counts the requests the suite sends.

CNCF's AI Conformance asks for a monitoring system that discovers and collects workloads'
metrics; KServe writes the scrape annotations on the pods but leaves the scraping to the
cluster's Prometheus. This check judges the two together, end to end, on the series the model
server exports.
"""

from __future__ import annotations

import time

import allure
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable
from kserve_conformance.dataplane import monitoring
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.dataplane.promql import PrometheusError, PromQL
from kserve_conformance.fixtures import metrics_steps as steps
from kserve_conformance.fixtures.cluster import Cluster
from kserve_conformance.fixtures.monitoring import (
    SCRAPING,
    scraping_asked,
    serving_pods,
    wait_for_growth,
    why_not_scraped,
)
from kserve_conformance.fixtures.owned import DeployedService
from kserve_conformance.plugin import config as suite_config

pytestmark = pytest.mark.usefixtures("kserve_applied_service")
MONITORING = load_yaml(DATA / "monitoring.yaml")
POLL_S = 1.0


@conformance(
    "MonitoringSeesTraffic",
    "The cluster's Prometheus discovers each model pod through the Kubernetes API (its series carry the "
    "pod's namespace and name) and, after the suite sends N requests, the model server's request counter "
    "for that model has grown by at least N since the scrape before them (Prometheus samples: other "
    "clients' requests may add to the growth, never take from it).",
    spec='CNCF AI Conformance 1.36, ai_service_metrics (MUST): "Provide a monitoring system capable of '
    "discovering and collecting metrics from workloads that expose them in a standard format (e.g. "
    'Prometheus exposition format)." KServe docs (prometheus-metrics.md): "This annotation defines the '
    'prometheus port and path, but it does not trigger the prometheus to scrape."',
    level=EXTENDED,
    features=(Feature.MONITORING,),
)
def test_monitoring_sees_traffic(
    request: pytest.FixtureRequest,
    kserve_service: DeployedService,
    kserve_prometheus: PromQL,
    kserve_openai_if_generative: OpenAIPlane | None,
    kserve_cluster: Cluster,
) -> None:
    documented = steps.documented(kserve_service)
    if documented is None or documented.requests is None:
        runtime = documented.server if documented else f"the runtime serving {kserve_service.name}"
        not_applicable(f"{runtime} documents no request counter (conformance/data/metrics-series.yaml)")
    kserve_service.settle()
    names = serving_pods(kserve_service)
    if not names:
        invalid_measurement(f"{kserve_service.name} has no Ready predictor pod to look for")
    identities = tuple((ns, pod) for ns, pod in MONITORING["identity_labels"])
    pods = monitoring.Pods(kserve_service.namespace, frozenset(names), identities)
    metric, labels = documented.requests, {documented.model_label: kserve_service.name}
    deadline = time.monotonic() + suite_config.of(request.config).timeouts.monitoring_s
    try:
        with allure.step(f"wait for two scrapes of {', '.join(names)} ({kserve_prometheus.description})"):
            scraped = monitoring.wait_for_scrapes(kserve_prometheus, pods, deadline, POLL_S)
        if not isinstance(scraped, dict) and not scraping_asked(kserve_service, kserve_cluster.facts):
            not_applicable(
                f"{scraped}, and nothing asked KServe to annotate the pods for Prometheus: set "
                f'{SCRAPING}: "true" on the InferenceService or metricsAggregator.enablePrometheusScraping '
                "in inferenceservice-config (or have the cluster's Prometheus select the pods another way)"
            )
        assert isinstance(scraped, dict), f"{scraped}: {why_not_scraped(kserve_prometheus, kserve_service, names)}"
        base = monitoring.baseline(kserve_prometheus, pods, metric, labels, scraped)
        sent = steps.burst(kserve_service, MONITORING["requests"], kserve_openai_if_generative)
        if sent.failed:
            invalid_measurement(f"{len(sent.failed)} of {MONITORING['requests']} requests failed: {sent.failed[0]}")
        n = sent.answered
        with allure.step(f"wait until {metric}{labels} grows by {n}"):
            grown, seen = wait_for_growth(kserve_prometheus, pods, metric, labels, base, n, deadline, POLL_S)
        anonymous = [] if seen else monitoring.unidentified(kserve_prometheus, pods, metric, labels)
    except PrometheusError as err:
        invalid_measurement(f"Prometheus could not be asked: {err}")
    assert not anonymous, (
        f"Prometheus has {metric} for model {kserve_service.name} only without the pod identity a discovery "
        f"through the Kubernetes API gives ({' or '.join('/'.join(p) for p in identities)}): "
        f"labels {anonymous[:3]}, as from a static target"
    )
    assert seen, (
        f"Prometheus scrapes pod(s) {', '.join(names)} but has no series {metric}{{{documented.model_label}="
        f'"{kserve_service.name}"}} from them ({documented.server} exports it)'
    )
    assert grown >= n, (
        f"{metric} for model {kserve_service.name} grew by {grown:g} in Prometheus after {n} requests "
        f"(pods {', '.join(names)}, baseline {base.value})"
    )
