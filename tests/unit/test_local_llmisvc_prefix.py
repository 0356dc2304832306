"""The local target's side of the prefix-aware routing checks: the pod proxy, and the two faults that break them.

The pod proxy is kube-apiserver's ``pods/NAME[:PORT]/proxy/PATH``, reached here with the suite's
own client code (``cluster/pod_proxy.py``) through a real API server on loopback, to a metrics
server this test runs; the faults are a picker that hands endpoints out in turn and a workload
started with vLLM's ``--no-enable-prefix-caching``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from prometheus_client import CollectorRegistry, Counter, start_http_server

from kserve_conformance.cluster import pod_proxy
from kserve_local.apiserver import proxy
from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.store import ApiError, Store
from kserve_local.faults import Fault
from kserve_local.ingress import picker
from kserve_local.ingress.faults import GatewayFaults
from kserve_local.kubelet import free_port
from kserve_local.llmisvc import compose
from kserve_local.llmisvc.workload import NO_PREFIX_CACHING, launch
from tests.unit.loopback_apiserver import loopback_api
from tests.unit.test_local_llmisvc import GLOBAL, finder, service

NS = "prefix"
PODS = next(r for r in RESOURCES if r.plural == "pods")


def pod(name: str, port: int | None, ip: str = "127.0.0.1", probe_scheme: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "img"}
    if port is not None:
        container["ports"] = [{"name": "http", "containerPort": port}, {"name": "grpc", "containerPort": 1}]
    if probe_scheme:
        container["readinessProbe"] = {"httpGet": {"path": "/health", "port": port, "scheme": probe_scheme}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "vllm"}},
        "spec": {"containers": [{"name": "sidecar", "image": "img"}, container]},
        "status": {"phase": "Running", **({"podIP": ip} if ip else {})},
    }


@pytest.fixture(scope="module")
def api() -> Iterator[client.ApiClient]:
    """A real API server on loopback, in its own thread, and a kubernetes client for it."""
    with loopback_api() as api_client:
        client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NS}})
        yield api_client


def test_the_pod_proxy_reaches_one_pod_s_own_metrics(api: client.ApiClient) -> None:
    registry = CollectorRegistry()
    Counter("vllm:prefix_cache_hits", "hits", registry=registry).inc(128)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        core = client.CoreV1Api(api)
        for body in (pod("vllm-a", port), pod("vllm-gone", None, ip="")):
            core.create_namespaced_pod(NS, body)
            core.patch_namespaced_pod_status(body["metadata"]["name"], NS, {"status": body["status"]})
        found = {p.name: p for p in pod_proxy.pods(api, NS, "app=vllm", "main")}
        assert found["vllm-a"].target == f"vllm-a:{port}", "the serving container's first port, not the sidecar's"
        text = pod_proxy.get(api, NS, found["vllm-a"], "/metrics", 10)
        assert "vllm:prefix_cache_hits_total 128.0" in text
        with pytest.raises(ApiException) as err:
            pod_proxy.get(api, NS, found["vllm-gone"], "metrics", 10)
        assert err.value.status == 400 and "address not allowed" in str(err.value.body)
    finally:
        server.shutdown()
        thread.join(10)


def test_the_pod_proxy_takes_kube_apiserver_s_forms() -> None:
    store = Store(RESOURCES)

    async def seed() -> None:
        await store.create(next(r for r in RESOURCES if r.plural == "namespaces"), "", {"metadata": {"name": NS}})
        for body in (pod("p", 8000), pod("bare", None)):
            created = await store.create(PODS, NS, body)
            await store.replace(PODS, NS, body["metadata"]["name"], {**created, "status": body["status"]}, "status")

    asyncio.run(seed())
    assert proxy.locate_pod(store, PODS, NS, "p") == "http://127.0.0.1:8000", "no port: the first containerPort"
    assert proxy.locate_pod(store, PODS, NS, "p:9000") == "http://127.0.0.1:9000", "a port is used as written"
    assert proxy.locate_pod(store, PODS, NS, "https:p:8000") == "https://127.0.0.1:8000"
    assert proxy.locate_pod(store, PODS, NS, "bare") == "http://127.0.0.1"
    with pytest.raises(ApiError, match="not found"):
        proxy.locate_pod(store, PODS, NS, "other")


def test_the_proxy_target_follows_the_readiness_probe_s_scheme() -> None:
    container = client.V1Container(
        name="main",
        ports=[client.V1ContainerPort(container_port=8000)],
        readiness_probe=client.V1Probe(http_get=client.V1HTTPGetAction(port=8000, scheme="HTTPS")),
    )
    obj = client.V1Pod(metadata=client.V1ObjectMeta(name="p"), spec=client.V1PodSpec(containers=[container]))
    assert pod_proxy.proxy_target(obj, "main") == "https:p:8000"


def test_the_prefix_blind_picker_hands_endpoints_out_in_turn() -> None:
    endpoints = [picker.Endpoint(f"pod-{i}", f"127.0.0.1:{port}") for i, port in enumerate((1, 2))]
    chooser = picker.Picker(round_robin=GatewayFaults.of({Fault.LLMISVC_PICKER_PREFIX_BLIND: ""}).prefix_blind())
    body = b'{"prompt": "' + b"You are a helpful assistant. " * 10 + b'"}'

    async def picks() -> list[str]:
        async with aiohttp.ClientSession() as session:
            return [(await chooser.pick(session, endpoints, body)).pod for _ in range(5)]

    assert asyncio.run(picks()) == ["pod-1", "pod-0", "pod-1", "pod-0", "pod-1"]
    assert not GatewayFaults.of({}).prefix_blind()


def test_prefix_caching_off_starts_vllm_with_its_flag() -> None:
    obj = service(router={})
    composed = compose.compose(obj, finder(), GLOBAL)
    assert NO_PREFIX_CACHING not in launch(obj, composed.spec).args
    assert launch(obj, composed.spec, prefix_caching=False).args[-1] == NO_PREFIX_CACHING
