"""Finding the ingress: where the suite sends data-plane requests, in a documented order.

1. ``--ingress-endpoint HOST:PORT`` (or ``KSERVE_INGRESS_HOST_PORT``, as KServe's own e2e tests);
2. the load-balancer address of Istio's ``istio-ingressgateway`` Service in ``istio-system``.
The URL's host still travels in the Host header, as Knative's test client does, because the
default ``example.com`` domain does not resolve (kserve/kserve#2596).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.errors import SetupError

ISTIO_NAMESPACE, ISTIO_SERVICE, ISTIO_PORT_NAME = "istio-system", "istio-ingressgateway", "http2"


@dataclass(frozen=True)
class IngressEndpoint:
    host: str
    port: int
    method: str  # how it was found, for the report

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_host_port(value: str, method: str) -> IngressEndpoint:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SetupError(f"ingress endpoint {value!r} is not HOST:PORT", "pass e.g. --ingress-endpoint 127.0.0.1:8080")
    return IngressEndpoint(host.strip("[]"), int(port), method)


def from_load_balancer(api: client.ApiClient) -> IngressEndpoint | None:
    try:
        svc = client.CoreV1Api(api).read_namespaced_service(ISTIO_SERVICE, ISTIO_NAMESPACE)
    except ApiException as err:
        if err.status in (403, 404):
            return None
        raise
    ingresses = (svc.status.load_balancer.ingress or []) if svc.status and svc.status.load_balancer else []
    ports = [p for p in svc.spec.ports or [] if p.name == ISTIO_PORT_NAME] or list(svc.spec.ports or [])
    if not ingresses or not ports:
        return None
    address = ingresses[0].ip or ingresses[0].hostname
    return IngressEndpoint(address, ports[0].port, f"load balancer of {ISTIO_NAMESPACE}/{ISTIO_SERVICE}")


def discover(api: client.ApiClient, explicit: str | None) -> IngressEndpoint:
    if explicit:
        return parse_host_port(explicit, "--ingress-endpoint")
    env = os.environ.get("KSERVE_INGRESS_HOST_PORT")
    if env:
        return parse_host_port(env, "KSERVE_INGRESS_HOST_PORT")
    found = from_load_balancer(api)
    if found is not None:
        return found
    raise SetupError("no ingress found: istio-system/istio-ingressgateway has no load-balancer address",
                     "pass --ingress-endpoint HOST:PORT (e.g. after kubectl port-forward)")
