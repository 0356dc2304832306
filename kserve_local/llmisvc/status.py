"""An LLMInferenceService's status, written from what the controller observed (llmisvc-status.md).

``Ready`` is ``WorkloadsReady`` and ``RouterReady`` (Knative's living condition set: when not
True it carries the reason and message of the first dependent that is not); each aggregate
rolls up the sub-conditions present, and a sub-condition whose feature is not configured is
cleared (absent), never True by default. ``PresetsCombined`` is a separate gate: when it is
False the aggregates keep their previous values (``Unknown`` on a new service). A stopped service
(``serving.kserve.io/stop: "true"``) has every workload and router condition False with reason
``Stopped`` and no observed fields. ``GroupReady`` and ``GroupDegraded`` (a routing group's,
:mod:`.group`) stand apart: present only for a member, they roll up into nothing.
``lastTransitionTime`` moves only when a condition's status does; every condition carries the
generation it was computed for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_local.apiserver.store import now

Obj = dict[str, Any]
ORDER = (
    "Ready",
    "PresetsCombined",
    "WorkloadsReady",
    "MainWorkloadReady",
    "WorkerWorkloadReady",
    "PrefillWorkloadReady",
    "RouterReady",
    "GatewaysReady",
    "HTTPRoutesReady",
    "InferencePoolReady",
    "SchedulerWorkloadReady",
    "GroupReady",
    "GroupDegraded",
)
GROUP_CONDITIONS = ("GroupReady", "GroupDegraded")  # independent: they roll up into nothing
WORKLOAD_CONDITIONS = ("MainWorkloadReady", "WorkerWorkloadReady", "PrefillWorkloadReady")
ROUTER_CONDITIONS = ("GatewaysReady", "HTTPRoutesReady", "InferencePoolReady", "SchedulerWorkloadReady")
STOPPED = "Stopped"


@dataclass(frozen=True)
class Cond:
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""


TRUE = Cond("True")


@dataclass
class Observed:
    """What one reconcile saw; None for a sub-condition means its feature is not configured."""

    generation: int
    presets: Cond = TRUE
    stopped: bool = False
    main: Cond | None = None
    worker: Cond | None = None
    prefill: Cond | None = None
    gateways: Cond | None = None
    routes: Cond | None = None
    pool: Cond | None = None
    scheduler: Cond | None = None
    group: Cond | None = None  # GroupReady: None out of a routing group (and when stopped)
    degraded: Cond | None = None  # GroupDegraded: None unless members diverge
    url: str | None = None
    addresses: list[Obj] = field(default_factory=list)
    applied: list[Obj] = field(default_factory=list)
    workloads: Obj = field(default_factory=dict)
    router: Obj = field(default_factory=dict)


def aggregate(parts: list[Cond]) -> Cond:
    """True when every present part is; else the first False (or Unknown) part's reason and message."""
    for wanted in ("False", "Unknown"):
        for part in parts:
            if part.status == wanted:
                return part
    return TRUE


def conditions(observed: Observed, previous: dict[str, Cond]) -> dict[str, Cond]:
    out: dict[str, Cond] = {"PresetsCombined": observed.presets}
    if observed.presets.status != "True":
        for kind in ("WorkloadsReady", "RouterReady"):
            out[kind] = previous.get(kind, Cond("Unknown"))
        for kind in (*WORKLOAD_CONDITIONS, *ROUTER_CONDITIONS, *GROUP_CONDITIONS):
            if kind in previous:
                out[kind] = previous[kind]
        out["Ready"] = previous.get("Ready", Cond("Unknown"))
        return out
    if observed.stopped:
        stopped = Cond("False", STOPPED, 'the service is stopped (annotation serving.kserve.io/stop: "true")')
        subs = {
            "MainWorkloadReady": observed.main,
            "WorkerWorkloadReady": observed.worker,
            "PrefillWorkloadReady": observed.prefill,
            "GatewaysReady": observed.gateways,
            "HTTPRoutesReady": observed.routes,
            "InferencePoolReady": observed.pool,
            "SchedulerWorkloadReady": observed.scheduler,
        }
        for kind, value in subs.items():
            if value is not None:
                out[kind] = stopped
        out["WorkloadsReady"] = out["RouterReady"] = out["Ready"] = stopped
        return out
    workload = {
        "MainWorkloadReady": observed.main,
        "WorkerWorkloadReady": observed.worker,
        "PrefillWorkloadReady": observed.prefill,
    }
    router = {
        "GatewaysReady": observed.gateways,
        "HTTPRoutesReady": observed.routes,
        "InferencePoolReady": observed.pool,
        "SchedulerWorkloadReady": observed.scheduler,
    }
    for kind, value in {**workload, **router, "GroupReady": observed.group, "GroupDegraded": observed.degraded}.items():
        if value is not None:
            out[kind] = value
    out["WorkloadsReady"] = aggregate([v for v in workload.values() if v is not None])
    out["RouterReady"] = aggregate([v for v in router.values() if v is not None])
    out["Ready"] = aggregate([out["WorkloadsReady"], out["RouterReady"]])
    return out


def write(observed: Observed, previous_status: Obj) -> Obj:
    """The status object: conditions in the documented order, then the observed fields."""
    before = {c["type"]: c for c in previous_status.get("conditions") or []}
    computed = conditions(
        observed,
        {k: Cond(c.get("status", "Unknown"), c.get("reason", ""), c.get("message", "")) for k, c in before.items()},
    )
    stamp = now()
    listed = []
    for kind in ORDER:
        if kind not in computed:
            continue
        cond = computed[kind]
        old = before.get(kind, {})
        entry: Obj = {
            "type": kind,
            "status": cond.status,
            "lastTransitionTime": old.get("lastTransitionTime", stamp) if old.get("status") == cond.status else stamp,
            "observedGeneration": observed.generation,
        }
        if cond.reason:
            entry["reason"] = cond.reason
        if cond.message:
            entry["message"] = cond.message
        listed.append(entry)
    status: Obj = {"observedGeneration": observed.generation, "conditions": listed}
    if observed.applied:
        status["appliedConfigs"] = observed.applied
    if observed.stopped:
        return status
    if observed.url:
        status["url"] = observed.url
    if observed.addresses:
        status["addresses"] = observed.addresses
    if observed.workloads:
        status["workloads"] = observed.workloads
    if observed.router:
        status["router"] = observed.router
    return status
