"""An ingress gateway on loopback: routes by Host header (or path prefix) to model servers.

It plays Istio's ingress gateway for the local target: an unknown host gets an empty 404 as from
Envoy, a known one is proxied with keep-alive connections so the gateway adds as little latency
as possible (``bench/gateway_overhead.py`` measures it). Faults that a real broken ingress would
show (404 for a routed host, sporadic 502s, a slow tail, rewritten V2 bodies) are injected here,
for the suite's negative-control self-tests. gRPC (h2c) shares the port, routed by
``:authority`` (``kserve_local.ingress.h2c``).

An answer the upstream streams (no ``Content-Length``: chunked, as server-sent events are) is
passed through chunk by chunk as it arrives, as Envoy does, so a generative model's tokens reach
the client as they are produced; an answer of known length is read whole and sent in one piece,
the fast path the V1/V2 data plane takes. The ``buffer-streams`` fault holds a stream back until
it ends: a buffering proxy, the defect a time-to-first-token check must see.

It also plays Knative's data path: each request goes to one revision with the probability of its
traffic percent (a canary), to the least busy ready replica of it, and a revision at zero
replicas is activated while the request waits, as Knative's activator holds it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from kserve_local.ingress.faults import GatewayFaults
from kserve_local.ingress.httproutes import HttpRoutes, Match
from kserve_local.ingress.picker import HEADER, Picker
from kserve_local.knative.revision import Revision
from kserve_local.knative.traffic import Target
from kserve_local.timeouts import MODEL_SERVER_STARTUP_S, UPSTREAM_S

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


ENVOY = {"server": "istio-envoy"}
ACTIVATION_TIMEOUT_S = MODEL_SERVER_STARTUP_S  # Knative's activator holds a request this long at most


@dataclass(frozen=True)
class Route:
    """Where one host (and path prefix) sends its requests: revisions by weight, as Istio's
    weighted route for a Knative Service."""

    targets: tuple[tuple[Target, Revision], ...]
    path_prefix: str = ""
    h2c: bool = False

    def signature(self) -> tuple[tuple[str, int], ...]:
        return tuple((t.revision, t.percent) for t, _ in self.targets)


class Gateway:
    def __init__(self, faults: GatewayFaults, http_routes: HttpRoutes | None = None) -> None:
        self._routes: dict[str, list[Route]] = {}
        self._faults = faults
        self._session: aiohttp.ClientSession | None = None
        self._http_routes = http_routes  # the Gateway API's HTTPRoutes (LLMInferenceServices' routers)
        self._picker = Picker(round_robin=faults.prefix_blind())

    def set_routes(self, routes: dict[str, list[Route]]) -> None:
        """New routes; a host whose traffic split changed is noted (the ``rollout-drops`` fault)."""
        for host, entries in routes.items():
            before = [r.signature() for r in self._routes.get(host, [])]
            if before and before != [r.signature() for r in entries]:
                self._faults.traffic_changed(host)
        self._routes = routes

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, timeout=aiohttp.ClientTimeout(total=UPSTREAM_S)
        )

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def grpc_port(self, host: str) -> int | None:
        """Where gRPC (h2c) for this authority goes: a ready replica's gRPC port, by the route's weights."""
        routes = self._routes.get(host, [])
        if not routes or not routes[0].h2c:
            return None
        revision = self.choose(routes[0])
        replica = revision.pick() if revision is not None else None
        return replica.grpc_port if replica is not None else None

    def match(self, host: str, path: str) -> tuple[Route, str] | None:
        """The route for a request, and the upstream path (prefix stripped for path routing)."""
        for route in self._routes.get(host.split(":")[0].lower(), []):
            prefix = route.path_prefix
            if not prefix:
                return route, path
            if path == prefix or path.startswith(prefix + "/"):
                return route, path[len(prefix) :] or "/"
        return None

    def choose(self, route: Route) -> Revision | None:
        """One revision per request, with the probability of its traffic percent."""
        latest = next((r for t, r in route.targets if t.latest), None)
        if latest is not None and self._faults.ignores_split(route.targets):
            return latest
        weighted = [(t.percent, r) for t, r in route.targets if t.percent > 0]
        if not weighted:
            return None
        pick = random.uniform(0, sum(w for w, _ in weighted))
        for weight, revision in weighted:
            pick -= weight
            if pick <= 0:
                return revision
        return weighted[-1][1]

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        matched = self.match(request.host, request.path)
        if matched is None and self._http_routes is not None:
            routed = self._http_routes.match(request.host, request.path, request.headers)
            if routed is not None:
                return await self._gateway_api(request, routed)
        if matched is None or self._faults.drop_route():
            return web.Response(status=404, headers={"server": "istio-envoy"})
        route, path = matched
        injected = await self._faults.before(request)
        if injected is not None:
            return injected
        revision = self.choose(route)
        if revision is None:
            return web.Response(status=404, headers={"server": "istio-envoy"})
        revision.track(+1)  # the activator and queue-proxies count it from here: it is demand
        try:
            replica = await revision.wait_ready(ACTIVATION_TIMEOUT_S)
            if replica is None:
                return web.Response(
                    status=503,
                    text=f"no healthy upstream: revision {revision.name} has no ready replica",
                    headers={"server": "istio-envoy"},
                )
            replica.inflight += 1
            try:
                return await self._forward(request, path, replica.http_port)
            finally:
                replica.inflight -= 1
        finally:
            revision.track(-1)

    async def _gateway_api(self, request: web.Request, routed: Match) -> web.StreamResponse:
        """An HTTPRoute's rule: its backend's endpoint (the picker's, for an InferencePool), the path rewritten."""
        assert self._http_routes is not None and self._session is not None
        if routed.backend is None:
            return web.Response(status=500, text="the matched HTTPRoute rule has no backends", headers=ENVOY)
        backend = self._http_routes.backend(routed.backend, routed.namespace)
        if backend is None or not backend.endpoints:
            return web.Response(status=503, text="no healthy upstream", headers=ENVOY)
        if backend.pool:
            endpoint = await self._picker.pick(self._session, backend.endpoints, await request.read())
        else:
            endpoint = min(backend.endpoints, key=lambda e: (self._picker.inflight[e.address], random.random()))
        self._picker.inflight[endpoint.address] += 1
        try:
            picked = {HEADER: endpoint.address} if backend.pool else {}
            return await self._forward(request, routed.path, endpoint.port, picked)
        finally:
            self._picker.inflight[endpoint.address] -= 1

    @staticmethod
    async def _stream(
        request: web.Request, upstream: aiohttp.ClientResponse, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Each chunk to the client as it arrives from the upstream, unbuffered."""
        response = web.StreamResponse(status=upstream.status, headers=headers)
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except (aiohttp.ClientError, ConnectionResetError):
            return response  # one side went away mid-stream: the client sees it cut, as from Envoy
        await response.write_eof()
        return response

    async def _forward(
        self, request: web.Request, path: str, port: int, picked: dict[str, str] | None = None
    ) -> web.StreamResponse:
        """Proxy to the upstream; ``picked`` (the endpoint picker's header) goes upstream and back."""
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.update(picked or {})
        url = f"http://127.0.0.1:{port}{path}"
        body = await request.read()
        try:
            async with self._session.request(
                request.method, url, params=request.query, headers=headers, data=body
            ) as upstream:
                out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                out_headers.update(picked or {})
                if upstream.content_length is None and not self._faults.buffers_streams():
                    return await self._stream(request, upstream, out_headers)
                payload = await upstream.read()
                status, payload, out_headers = self._faults.after(path, upstream.status, payload, out_headers)
                return web.Response(status=status, body=payload, headers=out_headers)
        except aiohttp.ClientError:
            return web.Response(
                status=503,
                text="upstream connect error or disconnect/reset before headers",
                headers={"server": "istio-envoy"},
            )
