"""Which other HTTPRoutes on a Gateway could take a request that names no served model.

Gateway API requires a 404 only "When no rules matching a request have been successfully attached
to the parent a request is coming from": on a shared Gateway another route (a default backend, a
catch-all ``/``) may match a request that the service's own rules do not, and then its answer is
that route's to give. Before a model-routing check calls a non-404 a defect it asks which routes
attached to the same Gateway have a match with no header condition that covers the path (header
conditions are left out: the requests it judges carry no header or one naming no served model).
The matching is Gateway API's for the Core match types: a PathPrefix element by element, an Exact
path whole, no path meaning the prefix ``/``; hostnames are compared whole (a wildcard hostname is
taken as matching, which can only excuse, never fail).
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kserve_conformance.cluster.kube import Obj, json_object, unavailable
from kserve_conformance.cluster.llmisvc import GATEWAY_GROUP, GATEWAY_VERSION


def path_matches(match: Obj, path: str) -> bool:
    spec = match.get("path") or {}
    kind, value = spec.get("type", "PathPrefix"), str(spec.get("value", "/"))
    if kind == "Exact":
        return path == value
    if kind != "PathPrefix":
        return True  # RegularExpression is implementation-specific: taken as matching, to excuse only
    prefix = value.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def attached(route: Obj, gateway: tuple[str, str]) -> bool:
    namespace = route.get("metadata", {}).get("namespace", "")
    return any(
        (p.get("namespace") or namespace, p.get("name")) == gateway
        for p in (route.get("spec") or {}).get("parentRefs") or []
        if p.get("kind", "Gateway") == "Gateway"
    )


def takes_hostname(route: Obj, hostname: str) -> bool:
    names = [str(h).lower() for h in (route.get("spec") or {}).get("hostnames") or []]
    return not names or hostname.lower() in names or any(n.startswith("*.") for n in names)


def headerless_takers(routes: list[Obj], gateway: tuple[str, str], hostname: str, path: str) -> list[str]:
    """``namespace/name rule`` of each rule (on a route attached to ``gateway`` for ``hostname``) with a
    match that needs no header and covers ``path``."""
    found = []
    for route in routes:
        if not attached(route, gateway) or not takes_hostname(route, hostname):
            continue
        meta = route.get("metadata", {})
        for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
            matches = rule.get("matches") or [{}]
            if any(not m.get("headers") and path_matches(m, path) for m in matches):
                found.append(f"HTTPRoute {meta.get('namespace')}/{meta.get('name')} rule {rule.get('name') or i}")
    return found


def all_routes(api: client.ApiClient) -> tuple[list[Obj], str | None]:
    """Every HTTPRoute in the cluster, or why they could not be listed."""
    try:
        found = client.CustomObjectsApi(api).list_cluster_custom_object(GATEWAY_GROUP, GATEWAY_VERSION, "httproutes")
    except ApiException as err:
        return [], unavailable(err)
    return list(json_object(found).get("items", [])), None
