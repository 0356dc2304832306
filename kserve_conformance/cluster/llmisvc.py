"""LLMInferenceService over the Kubernetes API: which versions the cluster serves, the object, its
Gateways, and what a person would gather when one fails.

KServe serves ``LLMInferenceService`` in ``serving.kserve.io`` as v1alpha1 and v1alpha2 (the
storage version). The walk-through applies v1alpha1; KServe's own e2e reads ``status.addresses``
through v1alpha2 "because v1alpha1 conversion drops origin" (and ``models``: the v1alpha1 schema
has neither), so the suite applies the manifest's version and reads status through v1alpha2 when
the cluster serves it. Creating, reading and deleting are ``InferenceServices``' own code with
another kind, version and plural (``cluster/kube.py``).
"""

from __future__ import annotations

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.cluster.kube import (
    GROUP,
    InferenceServices,
    Obj,
    Progress,
    conditions,
    json_object,
    unavailable,
)

KIND, PLURAL = "LLMInferenceService", "llminferenceservices"
VERSIONS = ("v1alpha1", "v1alpha2")
STATUS_VERSION = "v1alpha2"  # the hub: the only version whose addresses carry origin and models
GATEWAY_GROUP, GATEWAY_VERSION = "gateway.networking.k8s.io", "v1"
# Labels KServe puts on an LLMInferenceService's pods and router objects (llmisvc-status.md, "Troubleshooting").
PART_OF = "app.kubernetes.io/part-of=llminferenceservice"
ROUTER = "app.kubernetes.io/component=llminferenceservice-router"
WORKLOAD = "kserve.io/component=workload"  # the model server's pods (not the router's scheduler)
STOP = "serving.kserve.io/stop"  # llmisvc-status.md: force-stopped "via annotation `serving.kserve.io/stop: "true"`"


def served_versions(api: client.ApiClient) -> list[str]:
    """The versions of ``serving.kserve.io`` whose discovery lists ``llminferenceservices``; empty when
    KServe's LLMInferenceService is not installed."""
    custom = client.CustomObjectsApi(api)
    found = []
    for version in VERSIONS:
        try:
            resources = custom.get_api_resources(GROUP, version)
        except ApiException as err:
            if err.status in (403, 404):
                continue
            raise
        if resources is not None and any(r.name == PLURAL for r in resources.resources or []):
            found.append(version)
    return found


class LLMInferenceServices(InferenceServices):
    """LLMInferenceServices of one namespace, in one API version."""

    kind, plural = KIND, PLURAL

    def __init__(self, api: client.ApiClient, namespace: str, version: str, progress: Progress | None = None) -> None:
        super().__init__(api, namespace, progress)
        self.api = api
        self.version = version

    @staticmethod
    def load_manifest(text: str) -> Obj:
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ValueError(f"manifest is not an {KIND}")
        return doc

    def in_version(self, version: str) -> LLMInferenceServices:
        return LLMInferenceServices(self.api, self.namespace, version, self.progress)

    def replace(self, name: str, body: Obj) -> Obj:
        """A PUT of the whole object in this version (``kubectl replace``)."""
        return json_object(
            self.custom.replace_namespaced_custom_object(
                self.group, self.version, self.namespace, self.plural, name, body
            )
        )

    def workload_pods(self, name: str) -> list[str]:
        """The names of the service's model-server pods (KServe's labels)."""
        selector = f"app.kubernetes.io/name={name},{PART_OF},{WORKLOAD}"
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector)
        return sorted(p.metadata.name for p in pods.items if p.metadata is not None and p.metadata.name)

    def diagnostics(self, name: str, log_lines: int = 50) -> dict[str, str]:
        """The object (with every condition's status, reason and message), its events, its pods and the
        model server's log tail, and the child objects the router made: HTTPRoutes, Gateways, InferencePool."""
        out: dict[str, str] = {}
        try:
            obj = self.get(name)
            out["llminferenceservice.yaml"] = yaml.safe_dump(obj, sort_keys=False)
            out["conditions.txt"] = describe_all_conditions(obj)
        except ApiException as err:
            obj = {}
            out["llminferenceservice.yaml"] = unavailable(err)
        out["events.txt"] = self.events_text(name)
        out.update(self.pods_text(f"app.kubernetes.io/name={name},{PART_OF}", "main", log_lines))
        out["children.txt"] = "\n".join(self._children(name, obj)) or "no child objects found"
        return out

    def _children(self, name: str, obj: Obj) -> list[str]:
        """One line per child object the status or the router labels name, with its conditions."""
        lines = []
        custom = self.custom
        try:
            routes = custom.list_namespaced_custom_object(
                GATEWAY_GROUP,
                GATEWAY_VERSION,
                self.namespace,
                "httproutes",
                label_selector=f"app.kubernetes.io/name={name},{ROUTER}",
            )
            for route in json_object(routes).get("items", []):
                backends = [
                    f"{b.get('kind', 'Service')}/{b.get('name')}"
                    for rule in route.get("spec", {}).get("rules", [])
                    for b in rule.get("backendRefs") or []
                ]
                parents = [
                    f"{p.get('parentRef', {}).get('name')}: {describe_conditions_list(p.get('conditions', []))}"
                    for p in route.get("status", {}).get("parents", [])
                ]
                lines.append(
                    f"HTTPRoute {route['metadata']['name']}: backends {sorted(set(backends)) or 'none'}; "
                    f"parents {parents or 'none'}"
                )
        except ApiException as err:
            lines.append(f"HTTPRoutes: {unavailable(err)}")
        for ns, gw in sorted(gateways_named(obj, self.namespace)):
            found = gateway(self.api, ns, gw)
            state = describe_conditions_list(found.get("status", {}).get("conditions", [])) if found else "not found"
            lines.append(f"Gateway {ns}/{gw}: {state}")
        workloads = obj.get("status", {}).get("workloads", {})
        for role, ref in sorted(workloads.items()) if isinstance(workloads, dict) else []:
            if isinstance(ref, dict) and ref.get("kind") == "Deployment":
                lines.append(f"{role} Deployment {ref.get('name')}: {self._deployment(str(ref.get('name')))}")
            elif isinstance(ref, dict):
                lines.append(f"{role} {ref.get('kind')} {ref.get('name')}")
        return lines

    def _deployment(self, name: str) -> str:
        try:
            dep = client.AppsV1Api(self.api).read_namespaced_deployment(name, self.namespace)
        except ApiException as err:
            return unavailable(err)
        status = dep.status or client.V1DeploymentStatus()
        wanted = dep.spec.replicas if dep.spec else None
        return f"replicas {wanted}, ready {status.ready_replicas or 0}, available {status.available_replicas or 0}"


def describe_conditions_list(items: list[Obj]) -> str:
    return ", ".join(
        f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "") for c in items
    )


def describe_all_conditions(obj: Obj) -> str:
    """Every condition, as ``kubectl get llmisvc -o jsonpath`` of the doc's troubleshooting prints them."""
    found = conditions(obj)
    return (
        "\n".join(
            f"{t}={c.get('status')} {c.get('reason', '')} {c.get('message', '')}".rstrip()
            for t, c in sorted(found.items())
        )
        or "no conditions"
    )


def gateways_named(obj: Obj, namespace: str) -> set[tuple[str, str]]:
    """The Gateways the status names: each address's origin and ``status.router.gateways``."""
    status = obj.get("status", {})
    refs = [a.get("origin") for a in status.get("addresses") or [] if isinstance(a, dict)]
    refs += list((status.get("router") or {}).get("gateways") or [])
    return {
        (str(r.get("namespace") or namespace), str(r["name"])) for r in refs if isinstance(r, dict) and r.get("name")
    }


def gateway(api: client.ApiClient, namespace: str, name: str) -> Obj | None:
    """The Gateway API Gateway, or None when it does not exist (or Gateway API is not installed)."""
    try:
        found = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GATEWAY_GROUP, GATEWAY_VERSION, namespace, "gateways", name
        )
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return json_object(found)
