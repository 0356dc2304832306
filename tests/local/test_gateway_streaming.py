"""The gateway passes a streamed answer through as it arrives, and ``buffer-streams`` holds it back.

A generative model's server-sent events are only useful if each arrives when it is produced: a
buffering proxy turns time to first token into time to last token. The upstream here sends its
first event and then waits until the *client* has that event before it sends the rest, so the
unbuffered gateway is shown by the order of events (the upstream cannot finish until the client
read), never by a timing threshold. Under the fault the order reverses: the client's first event
comes after the upstream finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from kserve_local.faults import Fault
from kserve_local.ingress.faults import GatewayFaults
from kserve_local.ingress.gateway import Gateway, Route
from kserve_local.knative.traffic import Target

HOST = "llm.default.example.com"
BOUND_S = 60  # a bound on a hang, not a speed claim


@dataclass
class FakeReplica:
    http_port: int
    inflight: int = 0


@dataclass
class FakeRevision:
    """What the gateway uses of a Knative revision: one ready replica."""

    replica: FakeReplica
    name: str = "llm-predictor-00001"
    calls: list[int] = field(default_factory=list)

    def track(self, delta: int) -> None:
        self.calls.append(delta)

    async def wait_ready(self, timeout_s: float) -> FakeReplica:
        return self.replica

    def pick(self) -> FakeReplica:
        return self.replica


@dataclass
class Upstream:
    """An SSE upstream that records what it did, and may wait for the client between events."""

    events: list[str] = field(default_factory=list)
    client_has_first: asyncio.Event = field(default_factory=asyncio.Event)
    gated: bool = True

    async def sse(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"text": "first"}\n\n')
        self.events.append("upstream sent first")
        if self.gated:
            await asyncio.wait_for(self.client_has_first.wait(), BOUND_S)
        await response.write(b'data: {"text": "second"}\n\n')
        await response.write(b"data: [DONE]\n\n")
        self.events.append("upstream finished")
        await response.write_eof()
        return response

    async def json(self, _: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, int(port)


async def through_gateway(upstream: Upstream, faults: dict[Fault, str]) -> AsyncIterator[tuple[str, bytes]]:
    app = web.Application()
    app.router.add_get("/v1/completions", upstream.sse)
    app.router.add_get("/v1/models", upstream.json)
    up_runner, up_port = await serve(app)
    gateway = Gateway(GatewayFaults(faults))
    revision = FakeRevision(FakeReplica(up_port))
    gateway.set_routes({HOST: [Route(((Target(revision.name, 100, True), revision),))]})  # type: ignore[arg-type]
    gw_runner, gw_port = await serve(gateway.app())
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{gw_port}/v1/completions", headers={"Host": HOST}) as response:
                async for chunk in response.content.iter_any():
                    yield "chunk", chunk
            async with session.get(f"http://127.0.0.1:{gw_port}/v1/models", headers={"Host": HOST}) as response:
                yield "json", await response.read()
    finally:
        await gw_runner.cleanup()
        await up_runner.cleanup()


async def run(upstream: Upstream, faults: dict[Fault, str]) -> tuple[bytes, bytes]:
    body, json_body = b"", b""
    async for kind, data in through_gateway(upstream, faults):
        if kind == "json":
            json_body = data
            continue
        if not body:
            upstream.events.append("client got first")
            upstream.client_has_first.set()
        body += data
    return body, json_body


def test_a_stream_arrives_as_the_upstream_sends_it() -> None:
    upstream = Upstream(gated=True)
    body, json_body = asyncio.run(asyncio.wait_for(run(upstream, {}), BOUND_S))
    # The upstream could only finish once the client had the first event: nothing was held back.
    assert upstream.events == ["upstream sent first", "client got first", "upstream finished"], upstream.events
    assert body == b'data: {"text": "first"}\n\ndata: {"text": "second"}\n\ndata: [DONE]\n\n'
    assert json_body == b'{"object": "list", "data": []}', "a response of known length is passed whole"


def test_buffer_streams_holds_the_stream_until_it_ends() -> None:
    upstream = Upstream(gated=False)
    body, _ = asyncio.run(asyncio.wait_for(run(upstream, {Fault.BUFFER_STREAMS: ""}), BOUND_S))
    assert upstream.events == ["upstream sent first", "upstream finished", "client got first"], upstream.events
    assert body.endswith(b"data: [DONE]\n\n")
