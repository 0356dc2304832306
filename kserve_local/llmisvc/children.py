"""The objects KServe's LLMInferenceService controller creates for a single-node service.

Names and labels as KServe writes them (llmisvc-status.md's samples and troubleshooting steps):
the workload Deployment ``NAME-kserve`` with pods labelled ``app.kubernetes.io/name=NAME``,
``app.kubernetes.io/part-of=llminferenceservice``, ``kserve.io/component=workload``; its Service
``NAME-kserve-workload-svc`` (port 8000); the HTTPRoute ``NAME-kserve-route`` (labelled
``app.kubernetes.io/component=llminferenceservice-router``) from the composed
``router.route.http.spec``; the InferencePool ``NAME-inference-pool`` from
``router.scheduler.pool.spec``; the scheduler (endpoint picker) Deployment
``NAME-kserve-router-scheduler`` and its Service ``NAME-epp-service``. Each is owned by the
service (a controller ownerReference), so deleting the service takes them with it. Without a
managed scheduler the route's InferencePool backends are the workload Service, as KServe points
them when there is no pool.
"""

from __future__ import annotations

import copy
from typing import Any

from kserve_local.llmisvc.compose import child_name

Obj = dict[str, Any]
PART_OF = {"app.kubernetes.io/part-of": "llminferenceservice"}
WORKLOAD_PORT = 8000
EPP_PORT = 9002
POOL_KIND = ("inference.networking.k8s.io", "InferencePool")


def names(name: str) -> dict[str, str]:
    return {
        "workload": child_name(name, "-kserve"),
        "service": child_name(name, "-kserve-workload-svc"),
        "route": child_name(name, "-kserve-route"),
        "pool": child_name(name, "-inference-pool"),
        "scheduler": child_name(name, "-kserve-router-scheduler"),
        "epp": child_name(name, "-epp-service"),
    }


def workload_labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        **PART_OF,
        "app.kubernetes.io/component": "llminferenceservice-workload",
        "kserve.io/component": "workload",
    }


def scheduler_labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        **PART_OF,
        "app.kubernetes.io/component": "llminferenceservice-router-scheduler",
    }


def owner_reference(llmisvc: Obj) -> Obj:
    return {
        "apiVersion": llmisvc["apiVersion"],
        "kind": llmisvc["kind"],
        "name": llmisvc["metadata"]["name"],
        "uid": llmisvc["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _meta(llmisvc: Obj, name: str, labels: dict[str, str]) -> Obj:
    return {
        "name": name,
        "namespace": llmisvc["metadata"]["namespace"],
        "labels": labels,
        "ownerReferences": [owner_reference(llmisvc)],
    }


def deployment(llmisvc: Obj, name: str, labels: dict[str, str], template: Obj, replicas: int) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(llmisvc, name, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": template},
        },
    }


def service(
    llmisvc: Obj,
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    port: int,
    port_name: str,
    target: str | None = None,
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(llmisvc, name, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": port_name, "port": port, "protocol": "TCP", "targetPort": target or port}],
        },
    }


def gateway_refs(spec: Obj) -> list[Obj]:
    """``spec.router.gateway.refs``: the Gateways the service names (none: the preset's global one)."""
    return list(((spec.get("router") or {}).get("gateway") or {}).get("refs") or [])


def route(llmisvc: Obj, spec: Obj, managed_pool: bool) -> Obj:
    name = llmisvc["metadata"]["name"]
    route_spec = copy.deepcopy(((spec.get("router") or {}).get("route") or {}).get("http", {}).get("spec") or {})
    refs = gateway_refs(spec)
    if refs:  # the managed route attaches to the Gateways the service names
        route_spec["parentRefs"] = [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": ref.get("name", ""),
                **({"namespace": ref["namespace"]} if ref.get("namespace") else {}),
                # a named listener: the route attaches to it alone (without one, to every listener)
                **({"sectionName": ref["sectionName"]} if ref.get("sectionName") else {}),
            }
            for ref in refs
        ]
    if not managed_pool:
        for rule in route_spec.get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if (ref.get("group"), ref.get("kind")) == POOL_KIND:
                    ref.pop("group")
                    ref.update(kind="Service", name=names(name)["service"], port=WORKLOAD_PORT)
    labels = router_labels(name)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(llmisvc, names(name)["route"], labels),
        "spec": route_spec,
    }


def router_labels(name: str) -> dict[str, str]:
    """The labels KServe puts on the router's objects (the HTTPRoute and the InferencePool)."""
    return {"app.kubernetes.io/name": name, **PART_OF, "app.kubernetes.io/component": "llminferenceservice-router"}


def pool(llmisvc: Obj, spec: Obj) -> Obj:
    name = llmisvc["metadata"]["name"]
    pool_spec = copy.deepcopy(((spec.get("router") or {}).get("scheduler") or {}).get("pool", {}).get("spec") or {})
    labels = router_labels(name)
    return {
        "apiVersion": "inference.networking.k8s.io/v1",
        "kind": "InferencePool",
        "metadata": _meta(llmisvc, names(name)["pool"], labels),
        "spec": pool_spec,
    }


def desired(llmisvc: Obj, spec: Obj) -> list[Obj]:
    """Every child object for the composed ``spec``: workload, Service, and the router's parts present."""
    name = llmisvc["metadata"]["name"]
    n = names(name)
    labels = workload_labels(name)
    template = copy.deepcopy(spec.get("template") or {})
    replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    objects = [
        deployment(llmisvc, n["workload"], labels, template, replicas),
        # The target port by name: each pod's server listens on a port of its own here, its
        # containerPort named http (kubectl port-forward svc/... resolves it, as on a cluster).
        service(llmisvc, n["service"], labels, labels, WORKLOAD_PORT, "http", target="http"),
    ]
    router = spec.get("router") or {}
    managed_pool = router.get("scheduler") is not None and not ((router["scheduler"].get("pool") or {}).get("ref"))
    if managed_pool:
        objects.append(pool(llmisvc, spec))
        scheduler_template = copy.deepcopy(router["scheduler"].get("template") or {})
        objects.append(deployment(llmisvc, n["scheduler"], scheduler_labels(name), scheduler_template, 1))
        objects.append(
            service(llmisvc, n["epp"], scheduler_labels(name), scheduler_labels(name), EPP_PORT, "grpc-ext-proc")
        )
    if router.get("route") is not None and not ((router["route"].get("http") or {}).get("refs")):
        objects.append(route(llmisvc, spec, managed_pool))
    return objects
