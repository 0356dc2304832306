"""The services' ``proxy`` subresource: ``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH``.

As kube-apiserver's service proxy does, the port (a port's name, or its number, which the Service
maps to the port's name) is looked up in the Service's ``Endpoints``, one ready address is chosen,
and the request (method, query, body, headers less the caller's credentials and hop-by-hop ones)
is sent there; the answer comes back as the backend gave it. No ready address answers 503
``no endpoints available for service``, an unreachable one 503 ``error trying to reach service``,
as on a cluster. This is how a client with only API access (the suite's Prometheus discovery)
reaches an in-cluster HTTP service without a port-forward.

The pods' ``proxy`` subresource (``/api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy/PATH``)
is kube-apiserver's too: the port is used as written (a number: pods have no port names to
look up), or, when none is given, the first ``containerPort`` of the first container that has
one; a pod without an IP yet is a 400 ``address not allowed``, as kube-apiserver answers. This is
how a client allowed ``pods/proxy`` reads one pod's own ``/metrics`` (the llmisvc prefix checks
tell the pods of a Service apart so).
"""

from __future__ import annotations

import random

import aiohttp
from aiohttp import web

from kserve_local.apiserver.store import ApiError, Resource, Store
from kserve_local.timeouts import UPSTREAM_S

# Not forwarded: hop-by-hop headers (RFC 9110 7.6.1), the API server's own credentials, the Host.
DROPPED = frozenset(
    h.lower()
    for h in (
        "Authorization",
        "Connection",
        "Host",
        "Keep-Alive",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    )
)


def split_name(text: str) -> tuple[str, str, str]:
    """``[scheme:]name[:port]`` as kube-apiserver's ``net.SplitSchemeNamePort`` reads it."""
    parts = text.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3 and parts[0] in ("http", "https"):
        return parts[0], parts[1], parts[2]
    raise ApiError(400, "BadRequest", f'invalid service request "{text}"')


def locate(store: Store, services: Resource, endpoints: Resource, namespace: str, text: str) -> str:
    """The backend's base URL for a service proxy request, or the API server's error."""
    scheme, name, port = split_name(text)
    service = store.get(services, namespace, name)
    if port.isdigit():
        by_number = [p for p in service.get("spec", {}).get("ports", []) if str(p.get("port")) == port]
        if not by_number:
            raise ApiError(503, "ServiceUnavailable", f'no service port {port} found for service "{name}"')
        port = by_number[0].get("name", "")
    found = store.find(endpoints, namespace, name) or {}
    for subset in found.get("subsets", []):
        for candidate in subset.get("ports", []):
            if candidate.get("name", "") == port and subset.get("addresses"):
                address = random.choice(subset["addresses"])["ip"]
                return f"{scheme or 'http'}://{address}:{candidate['port']}"
    raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')


def locate_pod(store: Store, pods: Resource, namespace: str, text: str) -> str:
    """The pod's base URL for a pod proxy request, or the API server's error."""
    scheme, name, port = split_name(text)
    pod = store.get(pods, namespace, name)
    if not port:
        ports = (p for c in pod.get("spec", {}).get("containers", []) for p in c.get("ports") or [])
        port = str(next((p.get("containerPort", "") for p in ports), ""))
    ip = pod.get("status", {}).get("podIP")
    if not ip:
        raise ApiError(400, "BadRequest", "address not allowed")
    return f"{scheme or 'http'}://{ip}:{port}" if port else f"{scheme or 'http'}://{ip}"


async def serve(request: web.Request, base: str, path: str) -> web.Response:
    """Send the request on to ``base`` + ``/path`` and answer what the backend answers."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED}
    url = f"{base}/{path}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=UPSTREAM_S), auto_decompress=False) as session,
            session.request(
                request.method, url, params=request.query, data=await request.read(), headers=headers
            ) as response,
        ):
            body = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in DROPPED}
            return web.Response(status=response.status, body=body, headers=kept)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {err}") from err
