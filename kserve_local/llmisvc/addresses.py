"""``status.url`` and ``status.addresses`` from the HTTPRoute and the Gateways it attaches to.

As KServe derives them: for each parent Gateway, the listener the parentRef names (else the
first) gives the scheme (https for an HTTPS listener) and port (left out when it is the scheme's
default); the hosts are the route's hostnames, else the Gateway's status addresses; the path is
the route's path-based catch-all (its shortest Service-backed PathPrefix: ``/NAMESPACE/NAME``).
Each address is named by its host: ``gateway-external`` for a public host, ``internal`` for a
private, loopback or cluster-internal one (llmisvc-status.md, "Address types"); with model-based
routing (the template preset's ``serving.kserve.io/model-based-routing-enabled: "true"``) a
``-model-routing`` address at the host's root comes first, listing only the publisher-qualified
name ``publishers/NAMESPACE/models/MODEL``, and the path address lists both that and ``MODEL``.
``origin`` names the Gateway. ``status.url`` is the first path address's URL: what a client
posts ``/v1/completions`` under without a routing header.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Obj = dict[str, Any]
MODEL_ROUTING = "serving.kserve.io/model-based-routing-enabled"


def listener(gateway: Obj, section: str | None) -> Obj:
    listeners = (gateway.get("spec") or {}).get("listeners") or [{}]
    return next((item for item in listeners if section and item.get("name") == section), listeners[0])


def base_url(scheme: str, host: str, port: int | None) -> str:
    default = {"http": 80, "https": 443}[scheme]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port in (None, default) else f"{scheme}://{shown}:{port}"


def address_kind(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        internal = host.endswith((".svc", ".svc.cluster.local", ".local")) or "." not in host
        return "internal" if internal else "gateway-external"
    return "internal" if (ip.is_private or ip.is_loopback or ip.is_link_local) else "gateway-external"


def route_path(route: Obj) -> str:
    """The route's path-based catch-all: the shortest PathPrefix of a rule with a Service backend."""
    service_paths: list[str] = []
    other: list[str] = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        to_service = any(ref.get("kind", "Service") == "Service" for ref in rule.get("backendRefs") or [])
        for match in rule.get("matches") or []:
            path = (match.get("path") or {}).get("value")
            if path and not match.get("headers"):
                (service_paths if to_service else other).append(path)
    paths = service_paths or other
    return min(paths, key=lambda p: (p.count("/"), len(p))) if paths else "/"


def addresses(
    route: Obj, gateways: dict[tuple[str, str], Obj], namespace: str, model: str, model_routing: bool
) -> list[Obj]:
    publisher = f"publishers/{namespace}/models/{model}"
    path = route_path(route).rstrip("/")
    out: list[Obj] = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        key = (ref.get("namespace") or route["metadata"]["namespace"], ref.get("name", ""))
        gateway = gateways.get(key)
        if gateway is None:
            continue
        chosen = listener(gateway, ref.get("sectionName"))
        scheme = "https" if chosen.get("protocol") == "HTTPS" else "http"
        hosts = [h for h in (route.get("spec") or {}).get("hostnames") or [] if h and h != "*"]
        hosts = hosts or [a["value"] for a in (gateway.get("status") or {}).get("addresses") or [] if a.get("value")]
        origin = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": key[1], "namespace": key[0]}
        for host in sorted(hosts):
            base = base_url(scheme, host, chosen.get("port"))
            kind = address_kind(host)
            if model_routing:
                out.append(
                    {
                        "name": f"{kind}-model-routing",
                        "url": f"{base}/",
                        "origin": origin,
                        "models": [{"name": publisher}],
                    }
                )
            out.append(
                {
                    "name": kind,
                    "url": f"{base}{path}",
                    "origin": origin,
                    "models": [{"name": publisher}, {"name": model}],
                }
            )
    return out


def service_url(found: list[Obj]) -> str | None:
    return next((a["url"] for a in found if not a["name"].endswith("-model-routing")), None)
