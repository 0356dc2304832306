"""Finding the cluster's Prometheus and reaching it through the API server's service proxy.

A monitoring system is a Service in the cluster, rarely exposed outside it. Rather than a
port-forward, the suite asks the Kubernetes API server to forward its requests
(``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``, the proxy kube-apiserver serves to
anyone allowed ``services/proxy``), with the cluster credentials the suite already has: it works
on any cluster the user can reach. The usual installs' Services are tried in the order of
``data/prometheus-services.yaml``; the first that answers Prometheus' ``buildinfo`` is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

DATA = Path(__file__).parent / "data" / "prometheus-services.yaml"


@dataclass(frozen=True)
class Candidate:
    namespace: str
    service: str
    port: str
    install: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service}"


@dataclass(frozen=True)
class ProxiedService:
    """A Service's HTTP API below the API server's proxy: the base URL and a session with the cluster's credentials."""

    base_url: str
    session: requests.Session
    description: str


def candidates() -> list[Candidate]:
    return [Candidate(**c) for c in yaml.safe_load(DATA.read_text())["candidates"]]


def api_session(api: client.ApiClient) -> requests.Session:
    """A ``requests`` session that authenticates to the API server as the kubernetes client does."""
    cfg = api.configuration
    session = requests.Session()
    for auth in cfg.auth_settings().values():
        if auth.get("in") == "header" and auth.get("value"):
            session.headers[auth["key"]] = auth["value"]
    session.verify = (cfg.ssl_ca_cert or True) if cfg.verify_ssl else False
    if cfg.cert_file and cfg.key_file:
        session.cert = (cfg.cert_file, cfg.key_file)
    if cfg.proxy:
        session.proxies = {"http": cfg.proxy, "https": cfg.proxy}
    return session


def port_of(service: Any, wanted: str) -> str | None:
    """The proxy's port segment: the named port if the Service has it, else its only port; None if neither."""
    ports = service.spec.ports or []
    for port in ports:
        if port.name == wanted:
            return str(wanted)
    if len(ports) == 1:
        return str(ports[0].name or ports[0].port)
    return None


def proxied(api: client.ApiClient, namespace: str, service: str, port: str, description: str) -> ProxiedService:
    host = api.configuration.host.rstrip("/")
    base = f"{host}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"
    return ProxiedService(base, api_session(api), description)


def find_services(api: client.ApiClient) -> tuple[list[tuple[Candidate, ProxiedService]], list[str]]:
    """The candidates whose Service exists, proxied, in order; and why each other one was passed over."""
    core = client.CoreV1Api(api)
    found, passed = [], []
    for candidate in candidates():
        try:
            service = core.read_namespaced_service(candidate.service, candidate.namespace)
        except ApiException as err:
            passed.append(f"{candidate}: {'not found' if err.status == 404 else f'HTTP {err.status} {err.reason}'}")
            continue
        port = port_of(service, candidate.port)
        if port is None:
            passed.append(f"{candidate}: no port named {candidate.port}")
            continue
        description = f"Service {candidate}:{port} ({candidate.install}) through the API server's service proxy"
        found.append((candidate, proxied(api, candidate.namespace, candidate.service, port, description)))
    return found, passed
