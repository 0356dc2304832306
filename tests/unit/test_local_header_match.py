"""The local gateway's HTTPRoute header matches, kept and (the ``llmisvc-header-match-ignored`` fault) ignored.

The route is the one KServe's router-route preset composes for a service ``team/opt`` serving
``facebook/opt-125m``: its ``v1-model-routing`` rule matches ``/v1/completions`` only with
``X-Gateway-Model-Name`` naming ``publishers/team/models/facebook/opt-125m``. Healthy, a header
naming another model, or none, matches no rule (the gateway answers 404); with the fault the same
requests are routed to the model's pool, which is what LLMISVCModelRouting must see.
"""

from __future__ import annotations

import asyncio

import pytest

from kserve_local.apiserver.resources import BY_KIND, HTTPROUTES, RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.faults import Fault
from kserve_local.ingress.httproutes import HttpRoutes, Match
from kserve_local.llmisvc import install
from tests.unit.test_local_llmisvc import composed_route

QUALIFIED = "publishers/team/models/facebook/opt-125m"
REQUESTS = {
    "right": {"X-Gateway-Model-Name": QUALIFIED},
    "suffixed": {"X-Gateway-Model-Name": QUALIFIED + "-unserved"},
    "prefix": {"X-Gateway-Model-Name": QUALIFIED[:-1]},
    "none": {},
}


def matches(ignore_headers: bool) -> dict[str, Match | None]:
    async def scenario() -> dict[str, Match | None]:
        store = Store(RESOURCES)
        for ns in ("kserve", "team"):
            await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
        for obj in install.gateway_objects(8080):
            await store.create(BY_KIND[(obj["apiVersion"], obj["kind"])], obj["metadata"].get("namespace", ""), obj)
        await store.create(HTTPROUTES, "team", composed_route())
        routes = HttpRoutes(store, ignore_headers=ignore_headers)
        return {kind: routes.match("127.0.0.1:8080", "/v1/completions", h) for kind, h in REQUESTS.items()}

    return asyncio.run(scenario())


def test_only_the_served_models_name_is_routed_by_a_healthy_gateway() -> None:
    found = matches(ignore_headers=False)
    right = found.pop("right")
    assert right is not None and right.backend is not None and right.backend["kind"] == "InferencePool"
    assert found == {"suffixed": None, "prefix": None, "none": None}, "no rule matches: the gateway answers 404"


@pytest.mark.parametrize("kind", ["suffixed", "prefix", "none"])
def test_the_fault_routes_any_name_to_the_models_pool(kind: str) -> None:
    assert Fault("llmisvc-header-match-ignored") is Fault.LLMISVC_HEADER_MATCH_IGNORED
    routed = matches(ignore_headers=True)[kind]
    assert routed is not None and routed.backend is not None, f"{kind}: not routed under the fault"
    assert (routed.path, routed.backend["kind"]) == ("/v1/completions", "InferencePool")
