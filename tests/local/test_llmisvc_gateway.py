"""The gateway's Gateway API path: an HTTPRoute to an InferencePool, streamed as it comes, the pick named.

The same gated upstream as ``test_gateway_streaming``: it sends its first event and waits until
the client has it before it sends the rest, so an unbuffered relay is shown by the order of
events, never by a timing threshold. The route, pool, Gateway and pod are objects in a real store,
as the LLMInferenceService controller writes them; the pod's ``http`` port is the upstream's.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from kserve_local.apiserver.resources import BY_KIND, HTTPROUTES, INFERENCEPOOLS, RESOURCES
from kserve_local.apiserver.store import Obj, Store
from kserve_local.ingress.faults import GatewayFaults
from kserve_local.ingress.gateway import Gateway
from kserve_local.ingress.httproutes import HttpRoutes
from kserve_local.ingress.picker import HEADER
from kserve_local.llmisvc import install
from tests.local.test_gateway_streaming import BOUND_S, Upstream, serve

LABELS = {"app.kubernetes.io/name": "opt", "kserve.io/component": "workload"}


def route() -> Obj:
    pool = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "opt-inference-pool", "port": 8000}
    rewrite = {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1/completions"}
    return {
        "metadata": {"name": "opt-kserve-route"},
        "spec": {
            "parentRefs": [{"name": "kserve-ingress-gateway", "namespace": "kserve"}],
            "rules": [
                {
                    "backendRefs": [pool],
                    "matches": [{"path": {"type": "PathPrefix", "value": "/team/opt/v1/completions"}}],
                    "filters": [{"type": "URLRewrite", "urlRewrite": {"path": rewrite}}],
                }
            ],
        },
    }


async def cluster(upstream_port: int) -> Store:
    store = Store(RESOURCES)
    for ns in ("kserve", "team"):
        await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
    for obj in install.gateway_objects(80):
        await store.create(BY_KIND[(obj["apiVersion"], obj["kind"])], obj["metadata"].get("namespace", ""), obj)
    await store.create(HTTPROUTES, "team", route())
    await store.create(
        INFERENCEPOOLS,
        "team",
        {"metadata": {"name": "opt-inference-pool"}, "spec": {"selector": {"matchLabels": LABELS}}},
    )
    pod = await store.create(
        BY_KIND[("v1", "Pod")],
        "team",
        {
            "metadata": {"name": "opt-kserve-abc-xyz", "labels": LABELS},
            "spec": {"containers": [{"name": "main", "ports": [{"name": "http", "containerPort": upstream_port}]}]},
        },
    )
    pod["status"] = {"podIP": "127.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
    await store.replace(BY_KIND[("v1", "Pod")], "team", "opt-kserve-abc-xyz", pod, "status")
    return store


async def metrics(_: web.Request) -> web.Response:
    """The pod's vLLM metrics, as the picker scrapes them: nothing waiting."""
    return web.Response(text="vllm:num_requests_waiting 0\n")


async def run(upstream: Upstream) -> tuple[bytes, str | None, int, int]:
    app = web.Application()
    app.router.add_post("/v1/completions", upstream.sse)
    app.router.add_get("/metrics", metrics)
    up_runner, up_port = await serve(app)
    gateway = Gateway(GatewayFaults({}), HttpRoutes(await cluster(up_port)))
    gw_runner, gw_port = await serve(gateway.app())
    body = b""
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{gw_port}/team/opt/v1/completions"
            async with session.post(url, json={"prompt": "hello", "stream": True}) as response:
                picked = response.headers.get(HEADER)
                async for chunk in response.content.iter_any():
                    if not body:
                        upstream.events.append("client got first")
                        upstream.client_has_first.set()
                    body += chunk
            async with session.post(f"http://127.0.0.1:{gw_port}/team/other/v1/completions", json={}) as missing:
                status = missing.status
    finally:
        await gw_runner.cleanup()
        await up_runner.cleanup()
    return body, picked, up_port, status


def test_an_inference_pool_stream_is_relayed_as_it_comes_and_names_the_pod() -> None:
    upstream = Upstream(gated=True)
    body, picked, port, unrouted = asyncio.run(asyncio.wait_for(run(upstream), BOUND_S))
    assert upstream.events == ["upstream sent first", "client got first", "upstream finished"], upstream.events
    assert body.endswith(b"data: [DONE]\n\n")
    assert unrouted == 404, f"a path no HTTPRoute matches is answered {unrouted}, not 404"
    assert picked == f"127.0.0.1:{port}", f"the picked endpoint {picked} is not the pool's pod"
