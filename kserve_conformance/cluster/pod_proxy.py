"""One pod's own HTTP endpoint, reached through the API server's pod proxy.

A Service (or a Gateway's endpoint picker) hides which pod answers; a check that must tell the
pods apart reads each pod itself. kube-apiserver forwards
``/api/v1/namespaces/NS/pods/[SCHEME:]NAME:PORT/proxy/PATH`` to that pod for anyone allowed
``pods/proxy``, with the credentials the suite already has: no port-forward, no route into the
cluster network. The port is the serving container's first ``containerPort`` (kube-apiserver's
own default), the scheme its readiness probe's (KServe's LLM workload serves HTTPS when its
TLS is on; the proxy does not verify the pod's certificate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client


@dataclass(frozen=True)
class ProxiedPod:
    name: str
    target: str  # the proxy path's [scheme:]name:port
    ready: bool

    def __str__(self) -> str:
        return self.name


def proxy_target(pod: Any, container: str) -> str:
    """``[https:]NAME:PORT`` for the pod's ``container`` (else its first container with a port)."""
    containers = list(pod.spec.containers or [])
    chosen = next((c for c in containers if c.name == container and c.ports), None)
    chosen = chosen or next((c for c in containers if c.ports), None)
    port = chosen.ports[0].container_port if chosen is not None else None
    probe = getattr(getattr(chosen, "readiness_probe", None), "http_get", None)
    scheme = "https:" if probe is not None and str(probe.scheme or "").upper() == "HTTPS" else ""
    return f"{scheme}{pod.metadata.name}:{port}" if port else f"{scheme}{pod.metadata.name}"


def is_ready(pod: Any) -> bool:
    conditions = (pod.status.conditions or []) if pod.status is not None else []
    return pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True" for c in conditions)


def pods(api: client.ApiClient, namespace: str, selector: str, container: str) -> list[ProxiedPod]:
    """The pods ``selector`` matches, by name, each with its proxy target and readiness."""
    found = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    named: list[Any] = [p for p in found if p.metadata is not None and p.metadata.name]
    return sorted(
        (ProxiedPod(str(p.metadata.name), proxy_target(p, container), is_ready(p)) for p in named),
        key=lambda p: p.name,
    )


def get(api: client.ApiClient, namespace: str, pod: ProxiedPod, path: str, timeout_s: float) -> str:
    """GET ``path`` of the pod through the pod proxy; raises the client's ApiException on an error answer."""
    response: Any = client.CoreV1Api(api).connect_get_namespaced_pod_proxy_with_path(
        pod.target, namespace, path.lstrip("/"), _preload_content=False, _request_timeout=timeout_s
    )
    return str(response.data.decode("utf-8", "replace"))
