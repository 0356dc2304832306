"""The Gateway API's HTTPRoutes, as the local gateway's controller programs them.

A request the host routes (InferenceServices) do not take is matched against every HTTPRoute
attached to a Gateway of the local class, as Gateway API orders matches: an Exact path before a
PathPrefix, a longer prefix before a shorter, more header matches before fewer. Paths match
element-wise (``/a/b`` is a prefix of ``/a/b/c``, not of ``/a/bc``); header names case-insensitively.
A ``URLRewrite`` filter's ``ReplacePrefixMatch`` replaces the matched prefix. Backends are chosen
by weight; a Service's endpoints are its selector's ready pods, an InferencePool's its
``selector.matchLabels``' ready pods, picked by the endpoint picker (:mod:`.picker`). A rule with
no backendRefs answers 500, as Gateway API requires. Routes are read from the store on each
request, so an edit (``kubectl edit httproute``) takes effect at once.

Ties between routes go as the HTTPRoute CRD says: "If ties still exist across multiple Routes,
matching precedence MUST be determined in order of the following criteria, continuing on ties:
The oldest Route based on creation timestamp. The Route appearing first in alphabetical order by
"{namespace}/{name}"." (an LLMInferenceService routing group's members each own a route with the
same matches: the oldest one's backendRefs split the traffic). Each request picks one backendRef
at random by weight, as ``backendRefs[].weight`` reads: "the proportion of requests forwarded to
the referenced backend. This is computed as weight/(sum of all weights in this BackendRefs list)
... If weight is set to 0, no traffic should be forwarded for this entry. If unspecified, weight
defaults to 1." The ``llmisvc-weights-ignored`` fault (``even_split``) picks uniformly instead;
the ``llmisvc-header-match-ignored`` fault (``ignore_headers``) takes every header match as met,
so a request naming no served model is routed as the model's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kserve_local.apiserver.resources import BY_KIND, GATEWAYCLASSES, HTTPROUTES, INFERENCEPOOLS
from kserve_local.apiserver.store import Obj, Store
from kserve_local.ingress.picker import Endpoint

GATEWAYS = BY_KIND[("gateway.networking.k8s.io/v1", "Gateway")]
PODS, SERVICES = BY_KIND[("v1", "Pod")], BY_KIND[("v1", "Service")]
CONTROLLER = "kserve-conformance.io/local-gateway"


@dataclass(frozen=True)
class Match:
    path: str  # the upstream path, rewritten
    backend: Obj | None  # the chosen backendRef; None: the rule has none
    namespace: str  # the route's, where its backends are


@dataclass(frozen=True)
class Backend:
    pool: bool  # an InferencePool: the picker chooses among the endpoints
    endpoints: list[Endpoint]


def path_matches(kind: str, value: str, path: str) -> bool:
    if kind == "Exact":
        return path == value
    prefix = value.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def rewrite(rule: Obj, matched_prefix: str, path: str) -> str:
    for f in rule.get("filters") or []:
        spec = ((f.get("urlRewrite") or {}).get("path") or {}) if f.get("type") == "URLRewrite" else {}
        if spec.get("type") == "ReplacePrefixMatch":
            rest = path[len(matched_prefix.rstrip("/")) :]
            replacement = spec.get("replacePrefixMatch", "/")
            joined = replacement.rstrip("/") + rest if rest else replacement
            return joined or "/"
        if spec.get("type") == "ReplaceFullPath":
            return str(spec.get("replaceFullPath", "/"))
    return path


def precedence(route: Obj) -> tuple[str, str, str]:
    """Oldest first, then by namespace/name: the order in which equal matches win (first wins)."""
    meta = route["metadata"]
    return (meta.get("creationTimestamp", ""), meta.get("namespace", ""), meta.get("name", ""))


class HttpRoutes:
    def __init__(self, store: Store, even_split: bool = False, ignore_headers: bool = False) -> None:
        self.store = store
        self.even_split = even_split
        self.ignore_headers = ignore_headers

    def _ours(self) -> set[tuple[str, str]]:
        classes = {
            c["metadata"]["name"]
            for c in self.store.list(GATEWAYCLASSES, copies=False)
            if (c.get("spec") or {}).get("controllerName") == CONTROLLER
        }
        return {
            (g["metadata"]["namespace"], g["metadata"]["name"])
            for g in self.store.list(GATEWAYS, copies=False)
            if (g.get("spec") or {}).get("gatewayClassName") in classes
        }

    def match(self, host: str, path: str, headers: Mapping[str, str]) -> Match | None:
        gateways = self._ours()
        hostname = host.split(":")[0].lower()
        lowered = {k.lower(): v for k, v in headers.items()}
        best: tuple[tuple[int, int, int], Obj, str, Obj] | None = None
        for route in sorted(self.store.list(HTTPROUTES, copies=False), key=precedence):
            namespace = route["metadata"]["namespace"]
            spec = route.get("spec") or {}
            parents = {(p.get("namespace") or namespace, p.get("name", "")) for p in spec.get("parentRefs") or []}
            if not parents & gateways:
                continue
            hostnames = [h.lower() for h in spec.get("hostnames") or []]
            if hostnames and hostname not in hostnames:
                continue
            for rule in spec.get("rules") or []:
                for m in rule.get("matches") or [{}]:
                    p = m.get("path") or {"type": "PathPrefix", "value": "/"}
                    if not path_matches(p.get("type", "PathPrefix"), p.get("value", "/"), path):
                        continue
                    wanted = m.get("headers") or []
                    met = self.ignore_headers or all(
                        lowered.get(h.get("name", "").lower()) == h.get("value") for h in wanted
                    )
                    if not met:
                        continue
                    rank = (1 if p.get("type") == "Exact" else 0, len(p.get("value", "/")), len(wanted))
                    if best is None or rank > best[0]:
                        best = (rank, rule, p.get("value", "/"), route)
        if best is None:
            return None
        _, rule, prefix, route = best
        refs = rule.get("backendRefs") or []
        chosen = None
        if refs and self.even_split:
            chosen = random.choice(refs)
        elif refs:
            weights = [max(int(r.get("weight", 1)), 0) for r in refs]
            chosen = random.choices(refs, weights=weights)[0] if sum(weights) else None
        return Match(rewrite(rule, prefix, path), chosen, route["metadata"]["namespace"])

    def backend(self, ref: Obj, namespace: str) -> Backend | None:
        """The ready endpoints behind a backendRef: a Service's or an InferencePool's pods."""
        ns = ref.get("namespace") or namespace
        kind = ref.get("kind", "Service")
        if kind == "InferencePool":
            pool = self.store.find(INFERENCEPOOLS, ns, ref.get("name", ""))
            if pool is None:
                return None
            selector = ((pool.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return Backend(True, self._endpoints(ns, selector))
        if kind == "Service":
            service = self.store.find(SERVICES, ns, ref.get("name", ""))
            if service is None:
                return None
            return Backend(False, self._endpoints(ns, (service.get("spec") or {}).get("selector") or {}))
        return None

    def _endpoints(self, namespace: str, selector: Mapping[str, Any]) -> list[Endpoint]:
        if not selector:
            return []
        found = []
        for pod in self.store.list(PODS, namespace, copies=False):
            labels = pod["metadata"].get("labels") or {}
            if not selector.items() <= labels.items():
                continue
            status = pod.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            ports = [
                p["containerPort"]
                for c in (pod.get("spec") or {}).get("containers") or []
                for p in c.get("ports") or []
                if p.get("name") == "http"
            ]
            if ready and ports:
                found.append(Endpoint(pod["metadata"]["name"], f"{status.get('podIP', '127.0.0.1')}:{ports[0]}"))
        return found
