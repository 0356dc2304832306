"""An ingress gateway on loopback: routes by Host header (or path prefix) to model servers.

It plays Istio's ingress gateway for the local target: an unknown host gets an empty 404 as from
Envoy, a known one is proxied with keep-alive connections so the gateway adds as little latency
as possible (``bench/gateway_overhead.py`` measures it). Faults that a real broken ingress would
show (404 for a routed host, sporadic 502s, a slow tail, rewritten V2 bodies) are injected here,
for the suite's negative-control self-tests. gRPC (h2c) shares the port, routed by
``:authority`` (``kserve_conformance.local.h2c``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from kserve_conformance.local.faults import GatewayFaults

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


@dataclass(frozen=True)
class Route:
    port: int
    path_prefix: str = ""
    grpc_port: int | None = None


class Gateway:
    def __init__(self, routes: Callable[[], dict[str, list[Route]]], faults: GatewayFaults) -> None:
        self._routes = routes
        self._faults = faults
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                              timeout=aiohttp.ClientTimeout(total=300))

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def grpc_port(self, host: str) -> int | None:
        """Where gRPC (h2c) for this authority goes: the predictor's gRPC port."""
        routes = self._routes().get(host, [])
        return routes[0].grpc_port if routes else None

    def match(self, host: str, path: str) -> tuple[Route, str] | None:
        """The route for a request, and the upstream path (prefix stripped for path routing)."""
        for route in self._routes().get(host.split(":")[0].lower(), []):
            prefix = route.path_prefix
            if not prefix:
                return route, path
            if path == prefix or path.startswith(prefix + "/"):
                return route, path[len(prefix):] or "/"
        return None

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        matched = self.match(request.host, request.path)
        if matched is None or self._faults.drop_route():
            return web.Response(status=404, headers={"server": "istio-envoy"})
        route, path = matched
        injected = await self._faults.before(request)
        if injected is not None:
            return injected
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = f"http://127.0.0.1:{route.port}{path}"
        body = await request.read()
        try:
            async with self._session.request(request.method, url, params=request.query, headers=headers,
                                             data=body) as upstream:
                payload = await upstream.read()
                out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                status, payload, out_headers = self._faults.after(request, path, upstream.status, payload,
                                                                  out_headers)
                return web.Response(status=status, body=payload, headers=out_headers)
        except aiohttp.ClientError:
            return web.Response(status=503, text="upstream connect error or disconnect/reset before headers",
                                headers={"server": "istio-envoy"})
