"""The local target's monitoring: a real Prometheus that discovers pods through the target's API.

The unit tests build targets and resolve service proxies from data; the ``prometheus`` ones start
a target with Debian's Prometheus, store a pod annotated as KServe's pod mutator annotates model
pods (pointing at a metrics server this test runs), and judge what Prometheus recorded with the
suite's own code (``dataplane/monitoring.py``), reached through the API server's service proxy.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from kubernetes import client
from prometheus_client import CollectorRegistry, Counter, start_http_server

from kserve_conformance.cluster import monitoring as discovery
from kserve_conformance.dataplane import monitoring
from kserve_conformance.dataplane.promql import PromQL
from kserve_conformance.providers.base import api_client
from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from kserve_local.apiserver import proxy, table
from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.store import NAMESPACES, ApiError, Store
from kserve_local.kubelet import free_port
from kserve_local.monitoring import pod_sd
from kserve_local.monitoring.prometheus import ENDPOINTS, SERVICE, endpoints_object, render_config, service_object
from tests.controls.runner import run_suite

NS = "monitored"
WAIT_S = 120.0  # a bound, not a speed check: discovery and two scrapes at 2 s take about 6 s here


def pod(name: str, annotations: dict[str, str], ports: list[dict[str, object]], ip: str = "127.0.0.1") -> dict:
    return {
        "metadata": {"name": name, "namespace": NS, "uid": "u1", "labels": {"app": "m"}, "annotations": annotations},
        "spec": {"containers": [{"name": "kserve-container", "image": "img", "ports": ports}]},
        "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_targets_are_those_of_prometheus_pod_role() -> None:
    annotated = pod(
        "p", {"prometheus.io/scrape": "true"}, [{"name": "http", "containerPort": 8080}, {"containerPort": 9}]
    )
    groups = pod_sd.target_groups(annotated)
    assert [g["targets"] for g in groups] == [["127.0.0.1:8080"], ["127.0.0.1:9"]]
    labels = groups[0]["labels"]
    assert labels["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] == "true"
    assert labels["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"] == "true"
    assert labels["__meta_kubernetes_pod_label_app"] == "m"
    assert labels["__meta_kubernetes_namespace"] == NS and labels["__meta_kubernetes_pod_name"] == "p"
    assert labels["__meta_kubernetes_pod_container_port_name"] == "http"
    assert labels["__meta_kubernetes_pod_ready"] == "true"
    assert pod_sd.target_groups(pod("q", {}, [], ip="")) == []  # no IP yet: no targets, as in Prometheus
    assert [g["targets"] for g in pod_sd.target_groups(pod("r", {}, []))] == [["127.0.0.1"]]


def test_config_renders_as_yaml_with_the_scrape_job() -> None:
    text = render_config("http://127.0.0.1:1/pods", "2s")
    assert "${" not in text and "$1:$2" in text
    assert "http://127.0.0.1:1/pods" in text


def test_service_proxy_finds_the_endpoints_port() -> None:
    store = Store(RESOURCES)

    async def seed(with_endpoints: bool) -> None:
        if store.find(NAMESPACES, "", "monitoring") is None:
            await store.create(NAMESPACES, "", {"metadata": {"name": "monitoring"}})
            await store.create(SERVICE, "monitoring", service_object(40000))
        if with_endpoints:
            await store.create(ENDPOINTS, "monitoring", endpoints_object(40000))

    def locate(name: str) -> str:
        return proxy.locate(store, SERVICE, ENDPOINTS, "monitoring", name)

    asyncio.run(seed(False))
    with pytest.raises(ApiError, match='no endpoints available for service "prometheus"'):
        locate("prometheus:web")
    asyncio.run(seed(True))
    assert locate("prometheus:web") == locate("prometheus:9090") == "http://127.0.0.1:40000"
    assert locate("https:prometheus:web") == "https://127.0.0.1:40000"
    with pytest.raises(ApiError, match="no service port 1 found"):
        locate("prometheus:1")
    with pytest.raises(ApiError, match="no endpoints available"):  # its port has a name: "" names none
        locate("prometheus")
    with pytest.raises(ApiError, match="not found"):
        locate("other:web")


def test_endpoints_show_their_addresses_as_kubectl_does() -> None:
    assert table.COMPUTED["endpoints"](endpoints_object(40000)) == "127.0.0.1:40000"
    assert table.COMPUTED["endpoints"]({"subsets": []}) == "<none>"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTargetProcess]:
    process = LocalTargetProcess(LocalOptions(), state_dir=tmp_path_factory.mktemp("target-monitoring"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def counted() -> tuple[Counter, int]:
    """A model server's request counter, served on a port of its own: a stand-in for a model pod."""
    registry = CollectorRegistry()
    counter = Counter("requests", "requests", ["model_name"], registry=registry)
    port = free_port()
    start_http_server(port, addr="127.0.0.1", registry=registry)
    return counter, port


@pytest.mark.prometheus
def test_prometheus_discovers_an_annotated_pod_and_counts(
    target: LocalTargetProcess, counted: tuple[Counter, int]
) -> None:
    counter, port = counted
    counter.labels(model_name="m").inc(0)
    api = api_client(target.kubeconfig, None)
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    for name, wanted in (("annotated", scrape), ("plain", {})):
        body = pod(name, wanted, [{"name": "http", "containerPort": port}])
        core.create_namespaced_pod(NS, body)
        core.replace_namespaced_pod_status(name, NS, {**body, "metadata": {"name": name, "namespace": NS}})
    found, _ = discovery.find_services(api)
    service = found[0][1]
    assert service.base_url.endswith("/api/v1/namespaces/monitoring/services/prometheus:web/proxy")
    prom = PromQL(service.base_url, service.session, 10.0, service.description)
    pods = monitoring.Pods(NS, frozenset({"annotated"}), (("namespace", "pod"),))
    deadline = time.monotonic() + WAIT_S
    prom.build_info_once_available(deadline)  # the target publishes Prometheus' endpoint once it is ready
    scraped = monitoring.wait_for_scrapes(prom, pods, deadline, 0.5)
    assert isinstance(scraped, dict), scraped
    metric, labels = "requests_total", {"model_name": "m"}
    base = monitoring.baseline(prom, pods, metric, labels, scraped)
    counter.labels(model_name="m").inc(7)
    grown, seen = monitoring.growth(prom, pods, metric, labels, base)
    while grown < 7 and time.monotonic() < deadline:
        time.sleep(0.5)
        grown, seen = monitoring.growth(prom, pods, metric, labels, base)
    assert seen and grown == 7
    # The pod without annotations was discovered, and dropped by the relabelling.
    dropped = [t for t in prom.targets() if t["discoveredLabels"].get("__meta_kubernetes_pod_name") == "plain"]
    assert dropped and {t["state"] for t in dropped} == {"dropped"}
    unseen = monitoring.Pods(NS, frozenset({"plain"}), (("namespace", "pod"),))
    assert monitoring.wait_for_scrapes(prom, unseen, deadline, 0.5) == (
        "Prometheus discovered pod(s) plain and its relabelling dropped every target of them: nothing scrapes them"
    )


@pytest.mark.prometheus
def test_prometheus_stops_with_the_target(tmp_path: Path) -> None:
    process = LocalTargetProcess(LocalOptions(), state_dir=tmp_path)
    info = process.start()
    prometheus = json.loads(json.dumps(info))["prometheus"]
    assert Path(prometheus["log"]).parent == tmp_path / "prometheus"
    assert psutil.pid_exists(prometheus["pid"])
    process.stop()
    assert not psutil.pid_exists(prometheus["pid"]) or psutil.Process(prometheus["pid"]).status() == "zombie"


def test_without_prometheus_the_target_says_so(tmp_path: Path) -> None:
    process = LocalTargetProcess(LocalOptions(prometheus="none"), state_dir=tmp_path)
    info = process.start()
    try:
        why = json.loads(json.dumps(info))["prometheus"]
        assert why == {"url": None, "why": "monitoring off (--prometheus none)"}
        core = client.CoreV1Api(api_client(process.kubeconfig, None))
        assert [s.metadata.name for s in core.list_namespaced_service("monitoring").items] == []
    finally:
        process.stop()
    assert "the target runs without monitoring" in (tmp_path / "target.log").read_text()


def test_without_prometheus_the_check_is_not_applicable(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-services=sklearn-iris", "--kserve-local-prometheus=none", "-k", "monitoring")
    verdict = run.matching("MonitoringSeesTraffic")
    assert [v.outcome for v in verdict.values()] == ["skipped"], run.output[-3000:]
    message = next(iter(verdict.values())).message
    assert "no Prometheus found (monitoring/prometheus: not found;" in message, message
    assert "install Debian's prometheus package" in message and "--kserve-prometheus-url" in message
