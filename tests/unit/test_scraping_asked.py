"""When the monitoring check may expect the pods to be annotated for Prometheus.

KServe's pod mutator annotates a pod only when its InferenceService asks
(``serving.kserve.io/enable-prometheus-scraping``) or the cluster's ``inferenceservice-config``
turns it on for all (``metricsAggregator.enablePrometheusScraping``; KServe ships "false"). A pod
nobody asked to annotate that Prometheus does not scrape is no defect: MonitoringSeesTraffic is
then not applicable, not failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from kserve_conformance.cluster.facts import ClusterFacts, _json_setting
from kserve_conformance.fixtures.monitoring import SCRAPING, scraping_asked
from kserve_conformance.fixtures.owned import DeployedService


@dataclass
class Service:
    annotations: dict[str, str] = field(default_factory=dict)

    def current(self) -> dict[str, Any]:
        return {"metadata": {"annotations": self.annotations}}


def facts(scraping: bool) -> ClusterFacts:
    return cast(ClusterFacts, type("Facts", (), {"prometheus_scraping": scraping})())


@pytest.mark.parametrize(
    ("annotation", "cluster_default", "asked"),
    [
        (None, False, False),  # KServe's install: nobody asked
        (None, True, True),  # the cluster turns it on for every InferenceService
        ("true", False, True),  # the InferenceService asks
        ("false", True, False),  # the InferenceService opts out of the cluster's default
    ],
)
def test_scraping_is_asked_by_the_service_or_else_the_cluster(
    annotation: str | None, cluster_default: bool, asked: bool
) -> None:
    service = Service({SCRAPING: annotation} if annotation is not None else {})
    assert scraping_asked(cast(DeployedService, service), facts(cluster_default)) is asked


def test_the_cluster_default_is_read_from_the_metrics_aggregator_json() -> None:
    data = {"metricsAggregator": json.dumps({"enableMetricAggregation": "false", "enablePrometheusScraping": "true"})}
    assert _json_setting(data, "metricsAggregator", "enablePrometheusScraping") == "true"
    assert _json_setting({}, "metricsAggregator", "enablePrometheusScraping") is None
    assert _json_setting({"metricsAggregator": "# not JSON"}, "metricsAggregator", "enablePrometheusScraping") is None
