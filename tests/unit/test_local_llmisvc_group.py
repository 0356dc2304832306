"""The local target's routing groups (canary rollout), as KServe's canary-rollout.md describes them.

The weighted backendRef set on each member's shared rules, the stopped and not-yet-routable
members, divergence, the status, and the gateway's part: the oldest of equal routes wins and its
weights split the requests.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections import Counter
from typing import Any

import pytest

from kserve_local.apiserver.resources import BY_KIND, HTTPROUTES, RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.ingress.httproutes import HttpRoutes
from kserve_local.llmisvc import children, compose, group, install, status
from kserve_local.llmisvc.status import TRUE, Cond, Observed

Obj = dict[str, Any]
GLOBAL = {
    "IngressGatewayNamespace": "kserve",
    "IngressGatewayName": "kserve-ingress-gateway",
    "ModelBasedRoutingHeaderName": "X-Gateway-Model-Name",
    "EnableTLS": "",
}
ROUTABLE = {
    "conditions": [{"type": "RouterReady", "status": "True"}],
    "workloads": {"primary": {"readyReplicas": 1}},
}


def member(name: str, weight: int, model: str = "my-model", **meta: Any) -> Obj:
    return {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": {"name": name, "namespace": "team", "uid": f"u-{name}", **meta},
        "spec": {
            "model": {"uri": "hf://facebook/opt-125m", "name": model},
            "router": {"gateway": {}, "route": {"group": "my-model", "weight": weight}},
        },
        "status": copy.deepcopy(ROUTABLE),
    }


def route_of(obj: Obj) -> Obj:
    presets = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in install.presets()}
    composed = compose.compose(obj, lambda ns, name: copy.deepcopy(presets.get((ns, name))), GLOBAL)
    return next(c for c in children.desired(obj, composed.spec) if c["kind"] == "HTTPRoute")


def not_stopped(obj: Obj) -> bool:
    return False


def by_annotation(obj: Obj) -> bool:
    return (obj["metadata"].get("annotations") or {}).get("serving.kserve.io/stop") == "true"


def test_the_webhook_labels_a_member_with_its_group_and_unlabels_a_leaver() -> None:
    obj = member("v1", 9)
    group.label(obj)
    assert obj["metadata"]["labels"] == {group.LABEL: "my-model"}
    del obj["spec"]["router"]["route"]["group"]
    group.label(obj)
    assert group.LABEL not in (obj["metadata"].get("labels") or {})


def test_every_shared_rule_carries_each_member_weighted_and_own_paths_stay_own() -> None:
    v1, v2 = member("v1", 9), member("v2", 1)
    route = route_of(v2)
    matching, divergent = group.split(v2, group.members(v2, [v2, v1], not_stopped))
    group.rewrite_rules(route, v2, matching)
    assert divergent == []
    weighted = [
        {"kind": "Service", "name": "v1-kserve-workload-svc", "port": 8000, "weight": 9},
        {"kind": "Service", "name": "v2-kserve-workload-svc", "port": 8000, "weight": 1},
    ]
    shared = own = 0
    for rule in route["spec"]["rules"]:
        paths = [(m.get("path") or {}).get("value", "") for m in rule.get("matches") or []]
        if any(p == "/team/v2" or p.startswith("/team/v2/") for p in paths):
            own += 1
            assert [b["name"] for b in rule["backendRefs"]] == ["v2-kserve-workload-svc"], paths
        else:
            shared += 1
            assert rule["backendRefs"] == weighted, paths
    assert shared and own, "the preset has both per-participant and shared (publisher, model header) rules"
    assert group.status("my-model", matching) == {
        "name": "my-model",
        "members": [
            {
                "name": "v1",
                "weight": 9,
                "backendRef": {"kind": "Service", "name": "v1-kserve-workload-svc", "port": 8000},
            },
            {
                "name": "v2",
                "weight": 1,
                "backendRef": {"kind": "Service", "name": "v2-kserve-workload-svc", "port": 8000},
            },
        ],
    }


def test_a_stopped_member_keeps_its_weight_in_status_but_gets_no_backend_ref() -> None:
    v1, v2 = member("v1", 9, annotations={"serving.kserve.io/stop": "true"}), member("v2", 9)
    v1["status"] = {}
    matching, _ = group.split(v2, group.members(v2, [v1, v2], by_annotation))
    route = route_of(v2)
    group.rewrite_rules(route, v2, matching)
    names = {b["name"] for r in route["spec"]["rules"] for b in r["backendRefs"]}
    assert names == {"v2-kserve-workload-svc"}
    assert group.status("my-model", matching)["members"][0] == {
        "name": "v1",
        "weight": 9,
        "stopped": True,
        "backendRef": {"kind": "Service", "name": "v1-kserve-workload-svc", "port": 8000},
    }


def test_a_peer_not_yet_routable_is_left_out_but_the_service_itself_is_not() -> None:
    v1, v2 = member("v1", 9), member("v2", 1)
    v2["status"] = {}
    assert [m.name for m in group.members(v1, [v1, v2], not_stopped)] == ["v1"]
    assert [m.name for m in group.members(v2, [v1, v2], not_stopped)] == ["v1", "v2"]
    v1["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert [m.name for m in group.members(v2, [v1, v2], not_stopped)] == ["v2"], "a terminating peer leaves"


def test_a_member_with_another_model_is_divergent_and_not_routed() -> None:
    v1, v2 = member("v1", 5, model="model-alpha"), member("v2", 5, model="model-beta")
    matching, divergent = group.split(v1, group.members(v1, [v1, v2], not_stopped))
    assert [m.name for m in matching] == ["v1"] and [m.name for m in divergent] == ["v2"]
    assert group.divergence_message(divergent) == "group has members with different model sets: model-beta"


def test_a_managed_pool_in_status_is_the_member_s_backend() -> None:
    v1 = member("v1", 9)
    v1["status"]["router"] = {"scheduler": {"inferencePool": {"name": "v1-inference-pool", "namespace": "team"}}}
    assert group.backend_ref(v1) == {
        "group": "inference.networking.k8s.io",
        "kind": "InferencePool",
        "name": "v1-inference-pool",
        "port": 8000,
    }


def test_group_conditions_stand_apart_from_ready() -> None:
    observed = Observed(1, main=TRUE, routes=Cond("False", "HTTPRoutesNotReady", "not accepted"))
    observed.group = TRUE
    observed.degraded = Cond("True", group.DIVERGENCE, "group has members with different model sets: b")
    found = {c["type"]: c["status"] for c in status.write(observed, {})["conditions"]}
    assert found["Ready"] == "False" and found["GroupReady"] == "True" and found["GroupDegraded"] == "True"
    stopped = Observed(1, stopped=True, main=TRUE)
    assert "GroupReady" not in {c["type"] for c in status.write(stopped, {})["conditions"]}


async def _two_routes(store: Store) -> None:
    for ns in ("kserve", "team"):
        await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
    for obj in install.gateway_objects(8080):
        await store.create(BY_KIND[(obj["apiVersion"], obj["kind"])], obj["metadata"].get("namespace", ""), obj)
    v1, v2 = member("v1", 9), member("v2", 1)
    for me, weights in ((v2, (9, 0)), (v1, (9, 1))):
        route = route_of(me)
        matching, _ = group.split(me, group.members(me, [v1, v2], not_stopped))
        weighted = [
            group.Member(m.name, m.models, w, False, m.backend_ref) for m, w in zip(matching, weights, strict=True)
        ]
        group.rewrite_rules(route, me, weighted)
        await store.create(HTTPROUTES, "team", route)
    for stored in store.list(HTTPROUTES, "team", copies=False):  # v1's route an hour younger than v2's
        if stored["metadata"]["name"] == "v1-kserve-route":
            stored["metadata"]["creationTimestamp"] = "2999-01-01T00:00:00Z"


@pytest.mark.parametrize(("even", "expected"), [(False, {"v1-kserve-workload-svc": 2000}), (True, None)])
def test_the_oldest_route_wins_and_its_weights_split_the_requests(even: bool, expected: dict[str, int] | None) -> None:
    """v2's route (v1:9, v2:0) is older than v1's (v1:9, v2:1), though second by name: v2 gets
    nothing; with the fault, about half."""

    async def scenario() -> Counter[str]:
        store = Store(RESOURCES)
        await _two_routes(store)
        routes = HttpRoutes(store, even_split=even)
        header = {"x-gateway-model-name": "publishers/team/models/my-model"}
        picked: Counter[str] = Counter()
        for _ in range(2000):
            found = routes.match("127.0.0.1:8080", "/v1/completions", header)
            assert found is not None and found.backend is not None
            picked[found.backend["name"]] += 1
        return picked

    random.seed(7)
    picked = asyncio.run(scenario())
    if expected is not None:
        assert dict(picked) == expected
    else:
        assert 900 < picked["v2-kserve-workload-svc"] < 1100, picked
