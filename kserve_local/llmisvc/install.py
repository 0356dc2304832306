"""What KServe's install and quickstart put in a cluster for LLMInferenceService, as the target seeds it.

The CRDs (``data/crds.yaml``), the well-known ``LLMInferenceServiceConfig`` presets in the
``kserve`` namespace (``data/presets.yaml``; the router-route preset's rules built from
``data/router-route.yaml``), and the Gateway API objects the quickstart creates: a GatewayClass
and the Gateway ``kserve-ingress-gateway`` in ``kserve``, ``Programmed`` with the address the
target's gateway really listens on (its HTTP listener's port is that port, so the URLs KServe
derives from it are reachable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"
NAMESPACE = "kserve"  # KServe's system namespace, where its presets live
GATEWAY_NAME = "kserve-ingress-gateway"
GATEWAY_CLASS = "local"
GATEWAY_CONTROLLER = "kserve-conformance.io/local-gateway"
Obj = dict[str, Any]


def crds() -> list[Obj]:
    return [doc for doc in yaml.safe_load_all((DATA / "crds.yaml").read_text()) if doc]


def route_rules(data: Obj) -> list[Obj]:
    """The router-route preset's rules, in KServe's order, from the compact description."""
    no_timeouts = {"backendRequest": "0s", "request": "0s"}
    pool, service = data["pool_backend"], data["service_backend"]
    header = {"type": "Exact", **data["routing_header"]}

    def rewrite(to: str) -> list[Obj]:
        return [
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": to}}}
        ]

    def prefixed(name: str, prefix: str, path: str, backend: Obj, to: str) -> Obj:
        return {
            "name": name,
            "backendRefs": [dict(backend)],
            "matches": [{"path": {"type": "PathPrefix", "value": prefix + path}}],
            "filters": rewrite(to),
            "timeouts": dict(no_timeouts),
        }

    endpoints: dict[str, str] = data["endpoints"]
    rules = [prefixed(f"{stem}-path", data["path_prefix"], path, pool, path) for stem, path in endpoints.items()]
    rules.append(
        {
            "name": "v1-model-routing",
            "backendRefs": [dict(pool)],
            "matches": [
                {"path": {"type": "Exact", "value": path + slash}, "headers": [dict(header)]}
                for path in endpoints.values()
                for slash in ("", "/")
            ],
            "timeouts": dict(no_timeouts),
        }
    )
    rules += [
        prefixed(f"{stem}-publisher-path", data["publisher_prefix"], path, pool, path)
        for stem, path in endpoints.items()
    ]
    rules.append(prefixed("v1-publisher-path-catch-all", data["publisher_prefix"], "", service, "/"))
    rules.append(prefixed("v1-catch-all-path", data["path_prefix"], "", service, "/"))
    rules.append(
        {
            "name": "v1-catch-all-model-routing",
            "backendRefs": [dict(service)],
            "matches": [{"headers": [dict(header)]}],
            "timeouts": dict(no_timeouts),
        }
    )
    return rules


def presets() -> list[Obj]:
    """The well-known configs, as stored objects in ``kserve``."""
    route = yaml.safe_load((DATA / "router-route.yaml").read_text())
    out = []
    for preset in yaml.safe_load((DATA / "presets.yaml").read_text()):
        spec = preset["spec"]
        if preset["name"] == "kserve-config-llm-router-route":
            spec["router"]["route"]["http"]["spec"] = {"parentRefs": [route["parentRef"]], "rules": route_rules(route)}
        out.append(
            {
                "apiVersion": "serving.kserve.io/v1alpha2",
                "kind": "LLMInferenceServiceConfig",
                "metadata": {"name": preset["name"], "namespace": NAMESPACE},
                "spec": spec,
            }
        )
    return out


def gateway_objects(gateway_port: int) -> list[Obj]:
    """The GatewayClass and Gateway of KServe's quickstart, accepted and programmed by the local gateway."""
    ready = [
        {"type": kind, "status": "True", "reason": kind, "message": "", "observedGeneration": 1}
        for kind in ("Accepted", "Programmed")
    ]
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": GATEWAY_CLASS},
            "spec": {"controllerName": GATEWAY_CONTROLLER, "description": "the local target's gateway"},
            "status": {"conditions": [ready[0]]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {
                "name": GATEWAY_NAME,
                "namespace": NAMESPACE,
                "labels": {"serving.kserve.io/gateway": GATEWAY_NAME},
            },
            "spec": {
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": gateway_port,
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
            "status": {
                "addresses": [{"type": "IPAddress", "value": "127.0.0.1"}],
                "conditions": ready,
                "listeners": [
                    {
                        "name": "http",
                        "attachedRoutes": 0,
                        "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                        "conditions": [
                            {"type": kind, "status": "True", "reason": kind, "message": "", "observedGeneration": 1}
                            for kind in ("Accepted", "Programmed", "ResolvedRefs")
                        ],
                    }
                ],
            },
        },
    ]


def objects(gateway_port: int, seeded: list[Obj]) -> list[Obj]:
    """What to seed besides ``seeded``: an existing ``kserve-ingress-gateway`` (the GatewayAPI
    exposure's) is replaced by this programmed one, which has the same address and port."""
    seeded[:] = [o for o in seeded if not (o.get("kind") == "Gateway" and o["metadata"].get("name") == GATEWAY_NAME)]
    return [*crds(), *gateway_objects(gateway_port), *presets()]
