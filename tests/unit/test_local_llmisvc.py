"""The local target's LLMInferenceService pieces, from data: conversion, composition, status, routing.

Each is what KServe documents (llmisvc-config-composition.md, llmisvc-status.md, the router-route
preset, the v1alpha1/v1alpha2 CRDs in the reference data); the self-test in
tests/local/test_llmisvc.py drives them together against real vLLM.
"""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from kserve_local.apiserver.resources import BY_KIND, HTTPROUTES, INFERENCEPOOLS, RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.ingress import picker
from kserve_local.ingress.httproutes import Backend, HttpRoutes, rewrite
from kserve_local.llmisvc import addresses, children, compose, conversion, install, status
from kserve_local.llmisvc.controller import LlmController
from kserve_local.llmisvc.status import TRUE, Cond, Observed
from kserve_local.llmisvc.workload import NotRunnable, launch

Obj = dict[str, Any]
GLOBAL = {
    "IngressGatewayNamespace": "kserve",
    "IngressGatewayName": "kserve-ingress-gateway",
    "ModelBasedRoutingHeaderName": "X-Gateway-Model-Name",
    "EnableTLS": "",
}


def service(**spec: Any) -> Obj:
    return {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": {"name": "opt", "namespace": "team", "uid": "u-1"},
        "spec": {"model": {"uri": "hf://facebook/opt-125m", "name": "facebook/opt-125m"}, **spec},
    }


def presets() -> dict[tuple[str, str], Obj]:
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in install.presets()}


def finder(extra: dict[tuple[str, str], Obj] | None = None) -> Any:
    known = {**presets(), **(extra or {})}
    return lambda ns, name: copy.deepcopy(known.get((ns, name)))


# --- conversion ------------------------------------------------------------------------------
def test_lora_adapters_criticality_is_kept_by_index_across_versions() -> None:
    """As KServe's conversion keeps it (and its e2e test_lora_criticality_preservation reads it)."""
    adapters = [
        {"uri": "hf://a-1", "name": "a-1", "criticality": "Standard"},
        {"uri": "hf://a-2", "name": "a-2"},
        {"uri": "hf://a-3", "name": "a-3", "criticality": "Sheddable"},
    ]
    v1alpha1 = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LLMInferenceService",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"model": {"uri": "hf://a/b", "lora": {"adapters": adapters}}},
    }
    stored = conversion.to_v1alpha2(v1alpha1)
    assert stored["metadata"]["annotations"] == {conversion.LORA_CRITICALITIES: '{"0":"Standard","2":"Sheddable"}'}
    assert all("criticality" not in a for a in stored["spec"]["model"]["lora"]["adapters"])
    back = conversion.to_v1alpha1(stored)
    assert back["spec"]["model"]["lora"]["adapters"] == adapters
    assert "annotations" not in back["metadata"]


def test_v1alpha1_criticality_and_pool_fields_survive_the_round_trip() -> None:
    v1alpha1 = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LLMInferenceService",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {
            "model": {"uri": "hf://a/b", "criticality": "Critical"},
            "router": {
                "scheduler": {
                    "pool": {
                        "spec": {
                            "selector": {"app": "x"},
                            "targetPortNumber": 8000,
                            "extensionRef": {"name": "epp", "portNumber": 9002},
                        }
                    }
                }
            },
        },
    }
    stored = conversion.to_v1alpha2(v1alpha1)
    assert stored["metadata"]["annotations"] == {conversion.CRITICALITY: "Critical"}
    assert "criticality" not in stored["spec"]["model"]
    pool = stored["spec"]["router"]["scheduler"]["pool"]["spec"]
    assert pool == {
        "selector": {"matchLabels": {"app": "x"}},
        "targetPorts": [{"number": 8000}],
        "endpointPickerRef": {"name": "epp", "port": {"number": 9002}},
    }
    assert conversion.to_v1alpha1(stored) == v1alpha1


def test_v1alpha1_has_no_place_for_v1alpha2_only_status() -> None:
    stored = {
        **service(),
        "status": {
            "url": "http://a/team/opt",
            "addresses": [{"name": "internal", "url": "http://a/team/opt", "origin": {"name": "gw"}, "models": []}],
            "appliedConfigs": [{"name": "kserve-config-llm-template"}],
            "workloads": {"primary": {"name": "opt-kserve"}},
        },
    }
    shown = conversion.to_v1alpha1(stored)
    assert shown["status"] == {
        "url": "http://a/team/opt",
        "addresses": [{"name": "internal", "url": "http://a/team/opt"}],
    }
    assert stored["status"]["workloads"], "the stored object is not changed by a read"


# --- composition -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, [compose.TEMPLATE]),
        (
            {"router": {"gateway": {}, "route": {}, "scheduler": {}}},
            [compose.TEMPLATE, compose.SCHEDULER, compose.ROUTER_ROUTE],
        ),
        ({"router": {"route": {"http": {"refs": [{"name": "mine"}]}}}}, [compose.TEMPLATE]),
        ({"worker": {}}, [compose.WORKER_DP]),
        ({"prefill": {}}, [compose.PREFILL_TEMPLATE, compose.DECODE_TEMPLATE]),
        ({"prefill": {"worker": {}}, "worker": {}}, [compose.PREFILL_WORKER_DP, compose.DECODE_WORKER_DP]),
    ],
)
def test_well_known_configs_follow_the_spec_shape(spec: Obj, expected: list[str]) -> None:
    assert compose.well_known(spec) == expected


def test_zero_values_do_not_overwrite_and_containers_merge_by_name() -> None:
    base = {"template": {"containers": [{"name": "main", "image": "a", "ports": [{"containerPort": 8000}]}]}}
    override = {"template": {"containers": [{"name": "main", "image": "", "resources": {"limits": {"cpu": "1"}}}]}}
    merged = compose.merge(base, override)
    assert merged["template"]["containers"] == [
        {"name": "main", "image": "a", "ports": [{"containerPort": 8000}], "resources": {"limits": {"cpu": "1"}}}
    ]
    assert compose.merge({}, {"replicas": 0}) == {"replicas": 0}, "a zero with nothing under it is kept"


def test_the_walkthrough_composes_presets_then_its_own_spec() -> None:
    obj = service(replicas=1, router={"gateway": {}, "route": {}, "scheduler": {}})
    obj["spec"]["template"] = {"containers": [{"name": "main", "image": "quay.io/pierdipi/vllm-cpu:latest"}]}
    composed = compose.compose(obj, finder(), GLOBAL)
    assert [(a["name"], a["source"]) for a in composed.applied] == [
        (compose.TEMPLATE, "Preset"),
        (compose.SCHEDULER, "Preset"),
        (compose.ROUTER_ROUTE, "Preset"),
    ]
    main = composed.spec["template"]["containers"][0]
    assert main["image"] == "quay.io/pierdipi/vllm-cpu:latest", "the service's spec wins"
    assert "publishers/team/models/facebook/opt-125m" in main["command"], "the preset's templates are rendered"
    pool = composed.spec["router"]["scheduler"]["pool"]["spec"]
    assert pool["selector"]["matchLabels"]["app.kubernetes.io/name"] == "opt"
    rules = composed.spec["router"]["route"]["http"]["spec"]["rules"]
    first = rules[0]
    assert first["matches"][0]["path"] == {"type": "PathPrefix", "value": "/team/opt/v1/completions"}
    assert first["backendRefs"][0]["name"] == "opt-inference-pool"
    catch_all = next(r for r in rules if r["name"] == "v1-catch-all-path")
    assert catch_all["matches"][0]["path"]["value"] == "/team/opt"
    assert catch_all["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/"


def test_base_refs_resolve_in_the_service_namespace_first_and_missing_ones_are_named() -> None:
    mine = {"spec": {"template": {"containers": [{"name": "main", "env": [{"name": "TEAM", "value": "1"}]}]}}}
    obj = service(baseRefs=[{"name": "team-overrides"}])
    composed = compose.compose(obj, finder({("team", "team-overrides"): mine}), GLOBAL)
    assert composed.applied[-1] == {"name": "team-overrides", "namespace": "team", "source": "UserRef"}
    with pytest.raises(compose.ConfigNotFound, match=r"'team-overrides' not found in namespaces \[team, kserve\]"):
        compose.compose(obj, finder(), GLOBAL)


def test_a_router_set_only_by_a_base_ref_gets_its_presets() -> None:
    """KServe merges the baseRefs first to learn the shape, as KServe's llmisvc e2e configs rely on."""
    router = {"spec": {"router": {"scheduler": {}, "route": {}, "gateway": {}}}}
    model = {"spec": {"model": {"uri": "hf://facebook/opt-125m", "name": "facebook/opt-125m"}}}
    obj = service(baseRefs=[{"name": "router-managed"}, {"name": "model"}])
    del obj["spec"]["model"]
    found = finder({("team", "router-managed"): router, ("team", "model"): model})
    composed = compose.compose(obj, found, GLOBAL)
    assert [(a["name"], a["source"]) for a in composed.applied] == [
        (compose.TEMPLATE, "Preset"),
        (compose.SCHEDULER, "Preset"),
        (compose.ROUTER_ROUTE, "Preset"),
        ("router-managed", "UserRef"),
        ("model", "UserRef"),
    ]
    route = composed.spec["router"]["route"]["http"]["spec"]
    assert route["parentRefs"][0]["name"] == "kserve-ingress-gateway" and route["rules"]
    main = composed.spec["template"]["containers"][0]
    assert "publishers/team/models/facebook/opt-125m" in main["command"], "the baseRef's model name is rendered"


def test_conditionals_render_as_go_s_with_an_empty_value_false() -> None:
    """KServe's llmisvc e2e simulator config passes TLS flags only ``{{ if .GlobalConfig.EnableTLS }}``."""
    tls = "{{ if .GlobalConfig.EnableTLS }}--ssl-certfile{{- end }}"
    scheme = "{{ if .GlobalConfig.EnableTLS }}HTTPS{{else}}HTTP{{- end }}"
    ctx = compose.context(service(), GLOBAL)
    assert compose.render([tls, scheme, "--model {{ .Spec.Model.Name }}"], ctx) == [
        "",
        "HTTP",
        "--model facebook/opt-125m",
    ]
    on = compose.context(service(), {**GLOBAL, "EnableTLS": "true"})
    assert compose.render([tls, scheme], on) == ["--ssl-certfile", "HTTPS"]


def test_child_names_stay_within_a_dns_label() -> None:
    assert compose.child_name("opt", "-kserve") == "opt-kserve"
    long = compose.child_name("x" * 60, "-inference-pool")
    assert len(long) == 63 and long.endswith("-inference-pool")


def test_children_without_a_scheduler_route_to_the_workload_service() -> None:
    obj = service(router={"gateway": {}, "route": {}})
    composed = compose.compose(obj, finder(), GLOBAL)
    kinds = {(c["kind"], c["metadata"]["name"]) for c in children.desired(obj, composed.spec)}
    assert kinds == {
        ("Deployment", "opt-kserve"),
        ("Service", "opt-kserve-workload-svc"),
        ("HTTPRoute", "opt-kserve-route"),
    }
    route = next(c for c in children.desired(obj, composed.spec) if c["kind"] == "HTTPRoute")
    backends = {b["kind"] for r in route["spec"]["rules"] for b in r["backendRefs"]}
    assert backends == {"Service"}


def test_the_managed_route_attaches_to_the_named_listener_of_a_gateway_ref() -> None:
    """A gateway ref's sectionName is the route's parentRef's (KServe's test_gateway_section_name)."""
    refs = [{"name": "gw-1", "namespace": "team", "sectionName": "http"}, {"name": "gw-2"}]
    obj = service(router={"gateway": {"refs": refs}, "route": {}})
    composed = compose.compose(obj, finder(), GLOBAL)
    route = children.route(obj, composed.spec, managed_pool=False)
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "gw-1",
            "namespace": "team",
            "sectionName": "http",
        },
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw-2"},
    ]


def test_the_workload_runs_vllm_images_only() -> None:
    obj = service(router={})
    composed = compose.compose(obj, finder(), GLOBAL)
    run = launch(obj, composed.spec)
    assert "--model=hf://facebook/opt-125m" in run.args and "--port=8000" in run.args
    assert "--enforce-eager" in run.args and ("HOME", "/home") not in run.env
    composed.spec["template"]["containers"][0]["image"] = "example.com/other:1"
    with pytest.raises(NotRunnable, match=r"cannot run image 'example\.com/other:1'"):
        launch(obj, composed.spec)


# --- status ----------------------------------------------------------------------------------
def test_ready_is_workloads_and_router_with_the_failing_reason() -> None:
    waiting = Cond("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    written = status.write(Observed(2, main=waiting, routes=TRUE, gateways=TRUE), {})
    by_type = {c["type"]: c for c in written["conditions"]}
    assert [c["type"] for c in written["conditions"]] == [
        "Ready",
        "PresetsCombined",
        "WorkloadsReady",
        "MainWorkloadReady",
        "RouterReady",
        "GatewaysReady",
        "HTTPRoutesReady",
    ], "a sub-condition whose feature is not configured is absent"
    assert by_type["Ready"]["status"] == "False" and by_type["Ready"]["reason"] == "MinimumReplicasUnavailable"
    assert by_type["RouterReady"]["status"] == "True" and all(
        c["observedGeneration"] == 2 for c in written["conditions"]
    )
    again = status.write(Observed(2, main=TRUE, routes=TRUE, gateways=TRUE), written)
    assert {c["type"]: c["status"] for c in again["conditions"]}["Ready"] == "True"


def test_presets_combined_false_keeps_the_rest_as_it_was() -> None:
    fresh = status.write(Observed(1, presets=Cond("False", "ConfigNotFound", "not found")), {})
    assert {c["type"]: c["status"] for c in fresh["conditions"]} == {
        "Ready": "Unknown",
        "PresetsCombined": "False",
        "WorkloadsReady": "Unknown",
        "RouterReady": "Unknown",
    }
    healthy = status.write(Observed(1, main=TRUE, routes=TRUE), {})
    broken = status.write(Observed(2, presets=Cond("False", "ConfigNotFound", "gone")), healthy)
    assert {c["type"]: c["status"] for c in broken["conditions"]}["Ready"] == "True"


def test_stopped_clears_the_observed_fields() -> None:
    written = status.write(
        Observed(3, stopped=True, main=TRUE, routes=TRUE, url="http://x", addresses=[{"url": "http://x"}]), {}
    )
    assert {c["reason"] for c in written["conditions"] if c["type"] != "PresetsCombined"} == {"Stopped"}
    assert "url" not in written and "addresses" not in written


# --- addresses and routing -------------------------------------------------------------------
def gateway(port: int, host: str = "127.0.0.1") -> Obj:
    return next(o for o in install.gateway_objects(port) if o["kind"] == "Gateway") | {
        "status": {"addresses": [{"type": "IPAddress", "value": host}], "conditions": []}
    }


def composed_route(spec: Obj | None = None) -> Obj:
    obj = service(router={"gateway": {}, "route": {}, "scheduler": {}})
    composed = compose.compose(obj, finder(), GLOBAL)
    return next(c for c in children.desired(obj, spec or composed.spec) if c["kind"] == "HTTPRoute")


def test_addresses_name_the_path_url_and_the_model_routing_root() -> None:
    route = composed_route()
    found = addresses.addresses(
        route, {("kserve", "kserve-ingress-gateway"): gateway(8080)}, "team", "facebook/opt-125m", True
    )
    assert [(a["name"], a["url"]) for a in found] == [
        ("internal-model-routing", "http://127.0.0.1:8080/"),
        ("internal", "http://127.0.0.1:8080/team/opt"),
    ]
    assert found[1]["models"] == [{"name": "publishers/team/models/facebook/opt-125m"}, {"name": "facebook/opt-125m"}]
    assert addresses.service_url(found) == "http://127.0.0.1:8080/team/opt"
    public = addresses.addresses(
        route, {("kserve", "kserve-ingress-gateway"): gateway(80, "34.120.0.7")}, "team", "m", False
    )
    assert [(a["name"], a["url"]) for a in public] == [("gateway-external", "http://34.120.0.7/team/opt")]


@pytest.mark.parametrize(
    ("prefix", "to", "path", "expected"),
    [
        ("/team/opt", "/", "/team/opt/v1/models", "/v1/models"),
        ("/team/opt", "/", "/team/opt", "/"),
        ("/team/opt/v1/completions", "/v1/completions", "/team/opt/v1/completions", "/v1/completions"),
    ],
)
def test_replace_prefix_match(prefix: str, to: str, path: str, expected: str) -> None:
    rule = {
        "filters": [
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": to}}}
        ]
    }
    assert rewrite(rule, prefix, path) == expected


def test_httproutes_match_by_gateway_api_precedence() -> None:
    async def scenario() -> None:
        store = Store(RESOURCES)
        for ns in ("kserve", "team"):
            await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
        for obj in install.gateway_objects(8080):
            await store.create(BY_KIND[(obj["apiVersion"], obj["kind"])], obj["metadata"].get("namespace", ""), obj)
        route = composed_route()
        await store.create(HTTPROUTES, "team", route)
        routes = HttpRoutes(store)
        completion = routes.match("127.0.0.1:8080", "/team/opt/v1/completions", {})
        assert completion is not None and completion.path == "/v1/completions"
        assert completion.backend is not None and completion.backend["kind"] == "InferencePool"
        models = routes.match("127.0.0.1", "/team/opt/v1/models", {})
        assert models is not None and models.path == "/v1/models" and models.backend is not None
        assert models.backend["kind"] == "Service", "what the scheduler does not handle goes to the workload Service"
        header = {"x-gateway-model-name": "publishers/team/models/facebook/opt-125m"}
        routed = routes.match("127.0.0.1", "/v1/chat/completions", header)
        assert routed is not None and routed.backend is not None and routed.backend["kind"] == "InferencePool"
        assert routes.match("127.0.0.1", "/v1/chat/completions", {}) is None
        assert routes.match("127.0.0.1", "/team/optimus", {}) is None, "paths match element by element"
        await store.create(INFERENCEPOOLS, "team", {"metadata": {"name": "opt-inference-pool"}, "spec": {}})
        assert routes.backend(completion.backend, "team") == Backend(True, []), "no ready pod: no endpoint"

    asyncio.run(scenario())


def test_the_picker_keeps_a_shared_prefix_on_one_endpoint() -> None:
    async def scenario() -> list[str]:
        endpoints = [picker.Endpoint(f"pod-{i}", f"127.0.0.1:{port}") for i, port in enumerate((1, 2, 3))]
        chooser = picker.Picker()
        system = "You are a helpful assistant. " * 10  # four whole blocks shared by every request
        async with aiohttp.ClientSession() as session:  # the pods' metrics: unreachable, so no load
            picks = []
            for question in ("What is KServe?", "What is vLLM?", "What is llm-d?", "Who wrote it?"):
                body = f'{{"prompt": "{system}{question}"}}'.encode()
                picks.append((await chooser.pick(session, endpoints, body)).pod)
        return picks

    picks = asyncio.run(scenario())
    assert len(set(picks)) == 1, f"requests sharing a prompt prefix were spread over {picks}"


def test_the_picker_prefers_the_less_loaded_endpoint() -> None:
    chooser = picker.Picker()
    busy, idle = picker.Endpoint("busy", "127.0.0.1:1"), picker.Endpoint("idle", "127.0.0.1:2")
    fresh = time.monotonic() + 3600  # no scrape during the test
    chooser._load = {busy.address: picker.Load(waiting=5, kv_usage=0.9, at=fresh), idle.address: picker.Load(at=fresh)}

    async def pick() -> str:
        async with aiohttp.ClientSession() as session:
            return (await chooser.pick(session, [busy, idle], b'{"prompt": "hi"}')).pod

    assert asyncio.run(pick()) == "idle"


def test_the_presets_are_the_target_s_own_data_with_kserve_s_names(reference: Path) -> None:
    upstream = {
        doc["metadata"]["name"]
        for path in (reference / "kserve" / "llmisvcconfig").glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and "metadata" in doc
    }
    ours = {name for _, name in presets()}
    assert ours <= upstream, f"presets KServe does not ship: {ours - upstream}"
    assert {compose.TEMPLATE, compose.SCHEDULER, compose.ROUTER_ROUTE} <= ours


@pytest.mark.parametrize(
    ("spec", "condition"),
    [({"worker": {}}, "WorkerWorkloadReady"), ({"prefill": {}}, "PrefillWorkloadReady")],
)
def test_multi_node_and_prefill_decode_are_refused_saying_why(spec: Obj, condition: str) -> None:
    observed = Observed(1)
    LlmController._refuse({**spec, "router": {"route": {}}}, observed)
    written = {c["type"]: c for c in status.write(observed, {})["conditions"]}
    assert written[condition]["reason"] == written["Ready"]["reason"] == "NotSupportedOnLocalTarget"
    assert "the local target cannot run" in written["Ready"]["message"]
    assert written["RouterReady"]["status"] == "False", "no router is claimed for a workload that never runs"
