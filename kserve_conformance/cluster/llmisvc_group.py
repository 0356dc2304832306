"""An LLMInferenceService routing group as the cluster shows it: members, weights, and who answered.

KServe's canary rollout (canary-rollout.md): members share ``spec.router.route.group``, each has a
``weight``, and ``status.router.group`` lists the members the controller routes with their
weights (a stopped one with ``stopped: true``). The gateway's choice of member is seen nowhere on
the answer, so each request is attributed by the member's own pods: their vLLM request counters,
read pod by pod through the API server's pod proxy (:mod:`.pod_proxy`), before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from kserve_conformance.cluster import pod_proxy
from kserve_conformance.cluster.kube import Obj
from kserve_conformance.cluster.llmisvc import PART_OF, WORKLOAD

LABEL = "serving.kserve.io/routing-group"
CONTAINER = "main"


@dataclass(frozen=True)
class GroupView:
    """One member's ``status.router.group``: the group's name and each routed member's weight."""

    name: str
    weights: dict[str, int]
    stopped: frozenset[str]

    def describe(self) -> str:
        members = ", ".join(f"{m} {w}" + (" (stopped)" if m in self.stopped else "") for m, w in self.weights.items())
        return f"group {self.name or '(none)'}: {members or 'no members'}"


def group_view(obj: Obj) -> GroupView:
    group = ((obj.get("status") or {}).get("router") or {}).get("group") or {}
    members = [m for m in group.get("members") or [] if isinstance(m, dict)]
    return GroupView(
        str(group.get("name") or ""),
        {str(m.get("name")): int(m.get("weight") or 0) for m in members},
        frozenset(str(m.get("name")) for m in members if m.get("stopped")),
    )


def weight_patch(group: str, weight: int) -> Obj:
    """The merge patch the guide's step 4 applies: only the member's own weight."""
    return {"spec": {"router": {"route": {"group": group, "weight": weight}}}}


def member_pods(api: client.ApiClient, namespace: str, member: str) -> list[pod_proxy.ProxiedPod]:
    """The member's model-server pods (KServe's workload labels), each with its proxy target."""
    selector = f"app.kubernetes.io/name={member},{PART_OF},{WORKLOAD}"
    return pod_proxy.pods(api, namespace, selector, CONTAINER)


def member_metrics(api: client.ApiClient, namespace: str, member: str, timeout_s: float) -> tuple[list[str], list[str]]:
    """Every ready pod's ``/metrics`` text, and the names of the pods read (a member's count is their sum)."""
    found = member_pods(api, namespace, member)
    pods = [p for p in found if p.ready]
    if not pods:
        seen = ", ".join(f"{p.name} (not Ready)" for p in found) or "none"
        raise LookupError(f"no Ready workload pod (app.kubernetes.io/name={member}, {WORKLOAD}): {seen}")
    return [pod_proxy.get(api, namespace, p, "/metrics", timeout_s) for p in pods], [p.name for p in pods]
