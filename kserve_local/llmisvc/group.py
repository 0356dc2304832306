"""Routing groups: LLMInferenceServices that split one model's traffic by weight (canary rollout).

From KServe's canary-rollout.md and llmisvc-status.md: a member declares
``spec.router.route.group`` and ``weight``; the webhook labels it
``serving.kserve.io/routing-group: <group>`` (:func:`label`, a mutator). "Every route carries the
same weighted backendRef set for all active (non-stopped) group members": each member's own
HTTPRoute has its shared rules (the publisher path, the model-routing header; not its
per-participant ``/{namespace}/{name}/...`` rules) rewritten to one backendRef per active member
with that member's weight (:func:`rewrite_rules`). Members are the non-terminating services of the
namespace with the same group that are routable (``RouterReady`` True and a ready replica) or
force-stopped, and the service itself; they are sorted by name. Members with another model set
(``spec.model.name`` and LoRA adapters, or the models ``status.addresses`` serve) form their own
sub-group: ``GroupDegraded`` True, reason ``MemberDivergence``. ``GroupReady`` and
``GroupDegraded`` are independent of ``Ready``; ``status.router.group`` lists the matching
members, a stopped one with ``stopped: true`` and its weight kept for a rollback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kserve_local.llmisvc.children import names

Obj = dict[str, Any]
LABEL = "serving.kserve.io/routing-group"
DIVERGENCE = "MemberDivergence"
POOL_GROUP = "inference.networking.k8s.io"
BACKEND_PORT = 8000


@dataclass(frozen=True)
class Member:
    name: str
    models: tuple[str, ...]
    weight: int
    stopped: bool
    backend_ref: Obj

    def status(self) -> Obj:
        return {
            "name": self.name,
            "weight": self.weight,
            **({"stopped": True} if self.stopped else {}),
            "backendRef": dict(self.backend_ref),
        }


def _route(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("router") or {}).get("route") or {}


def group_of(obj: Obj) -> str | None:
    """``spec.router.route.group``, None when the service is in no group."""
    group = _route(obj).get("group")
    return str(group) if group else None


def label(obj: Obj) -> None:
    """The webhook's defaulting: the group label set from the spec, or removed when it has none."""
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    group = group_of(obj)
    if group:
        labels[LABEL] = group
    else:
        labels.pop(LABEL, None)
        if not labels:
            obj["metadata"].pop("labels")


def routable(obj: Obj) -> bool:
    """RouterReady True and a ready replica on each workload it reports: a backend worth sending to.

    A workload status without ``readyReplicas`` (this target's scheduler, whose scorers run in the
    gateway) counts as ready; the primary must report one.
    """
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    if not any(c.get("type") == "RouterReady" and c.get("status") == "True" for c in conditions):
        return False
    workloads = status.get("workloads") or {}
    if not (workloads.get("primary") or {}).get("readyReplicas"):
        return False
    return all(int((workloads.get(k) or {}).get("readyReplicas", 1)) > 0 for k in ("prefill", "scheduler"))


def model_names(obj: Obj) -> tuple[str, ...]:
    """The models a member serves: its addresses' when it has them (base configs merged), else its spec's."""
    served = {
        m.get("name", "") for a in (obj.get("status") or {}).get("addresses") or [] for m in a.get("models") or []
    }
    if served:
        return tuple(sorted(served))
    model = (obj.get("spec") or {}).get("model") or {}
    wanted = {model.get("name") or obj["metadata"]["name"]}
    wanted |= {a["name"] for a in (model.get("lora") or {}).get("adapters") or [] if a.get("name")}
    return tuple(sorted(wanted))


def backend_ref(obj: Obj) -> Obj:
    """The member's backend: its referenced or managed InferencePool, else its workload Service."""
    scheduler = ((obj.get("spec") or {}).get("router") or {}).get("scheduler") or {}
    ref = (scheduler.get("pool") or {}).get("ref") or {}
    pool = (((obj.get("status") or {}).get("router") or {}).get("scheduler") or {}).get("inferencePool") or {}
    name = ref.get("name") or pool.get("name")
    if name:
        return {"group": POOL_GROUP, "kind": "InferencePool", "name": name, "port": BACKEND_PORT}
    return {"kind": "Service", "name": names(obj["metadata"]["name"])["service"], "port": BACKEND_PORT}


def members(me: Obj, peers: Iterable[Obj], stopped: Callable[[Obj], bool]) -> list[Member]:
    """The group's eligible members (``me`` always), resolved and sorted by name."""
    group, found = group_of(me), []
    for peer in peers:
        meta = peer["metadata"]
        if group_of(peer) != group or meta.get("deletionTimestamp"):
            continue
        mine = meta["name"] == me["metadata"]["name"]
        if not mine and not stopped(peer) and not routable(peer):
            continue
        weight = int(_route(peer).get("weight") or 0)
        found.append(Member(meta["name"], model_names(peer), weight, stopped(peer), backend_ref(peer)))
    return sorted(found, key=lambda m: m.name)


def split(me: Obj, resolved: list[Member]) -> tuple[list[Member], list[Member]]:
    """(matching, divergent): a stopped member matches on its spec's model name alone."""
    mine = model_names(me)
    spec_name = ((me.get("spec") or {}).get("model") or {}).get("name") or me["metadata"]["name"]
    matching: list[Member] = []
    divergent: list[Member] = []
    for m in resolved:
        same = spec_name in m.models if m.stopped else m.models == mine
        (matching if same else divergent).append(m)
    return matching, divergent


def _per_participant(rule: Obj, prefix: str) -> bool:
    paths = [((m.get("path") or {}).get("value") or "") for m in rule.get("matches") or []]
    return any(p == prefix or p.startswith(prefix + "/") for p in paths)


def _managed(ref: Obj, me: Obj) -> bool:
    """A backendRef the controller itself writes for ``me``: its pool, its pool ref, or its workload Service."""
    n = names(me["metadata"]["name"])
    kind = ref.get("kind", "Service")
    pool_ref = ((((me.get("spec") or {}).get("router") or {}).get("scheduler") or {}).get("pool") or {}).get("ref")
    return (kind == "InferencePool" and ref.get("name") in {n["pool"], (pool_ref or {}).get("name")}) or (
        kind == "Service" and ref.get("name") == n["service"]
    )


def rewrite_rules(route: Obj, me: Obj, matching: list[Member]) -> None:
    """Each shared rule's backendRefs become every active matching member's, weighted; in place."""
    refs = [{**m.backend_ref, "weight": m.weight} for m in matching if not m.stopped]
    prefix = f"/{me['metadata']['namespace']}/{me['metadata']['name']}"
    for rule in route["spec"].get("rules") or []:
        if _per_participant(rule, prefix):
            continue
        if any(_managed(ref, me) for ref in rule.get("backendRefs") or []):
            rule["backendRefs"] = copy.deepcopy(refs)


def status(group: str, matching: list[Member]) -> Obj:
    """``status.router.group``."""
    return {"name": group, "members": [m.status() for m in matching]}


def divergence_message(divergent: list[Member]) -> str:
    models = sorted({"+".join(m.models) for m in divergent})
    return "group has members with different model sets: " + ", ".join(models)
