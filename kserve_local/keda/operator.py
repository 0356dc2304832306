"""KEDA's operator and its HPA, in one loop: each ScaledObject's triggers decide its target's replicas.

On a cluster KEDA creates an HPA (``keda-hpa-NAME``) for each ScaledObject and serves the
triggers' values to it as external metrics (``s0-prometheus``, ...); the HPA queries them on its
sync period (15 s) and scales the Deployment. The stand-in does both parts every ``KEDA_SYNC_S``:
queries each trigger, asks :mod:`kserve_local.keda.hpa` for the replicas, and scales the target
through the callback the KServe stand-in gives it (the same replica machinery its own HPA and KPA
use). There is no HPA object here, so ``status.hpaName`` is not written.

Status, as KEDA writes it: ``conditions`` Ready (``ScaledObjectReady``), Active (the triggers'
values above their activation thresholds), Fallback, Paused; ``scaleTargetKind``,
``scaleTargetGVKR``, ``originalReplicaCount``, ``externalMetricNames`` and each metric's
``health``. Events on the ScaledObject: ``KEDAScalersStarted``, ``ScaledObjectReady``,
``KEDAScalerFailed`` (a query that failed: the replicas stay), and the HPA's ``SuccessfulRescale``.

A ScaledObject with ``minReplicaCount: 0`` goes to zero once no trigger has been active for its
``cooldownPeriod`` (300 s by default), and back to one when one is, as KEDA does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import SCALEDOBJECTS
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Fault, Faults
from kserve_local.keda import hpa, prometheus
from kserve_local.timeouts import KEDA_SYNC_S

log = logging.getLogger(__name__)
COMPONENT = "keda-operator"
DEFAULT_COOLDOWN_S = 300.0
READY = ("ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling")
ACTIVE = ("ScalerActive", "Scaling is performed because triggers are active")
NOT_ACTIVE = ("ScalerNotActive", "Scaling is not performed because triggers are not active")
NO_FALLBACK = ("NoFallbackFound", "No fallbacks are active on this scaled object")
DEPLOYMENT_GVKR = {"group": "apps", "kind": "Deployment", "resource": "deployments", "version": "v1"}


@dataclass
class Target:
    """What a ScaledObject scales: a Deployment's replicas now, and how to change them."""

    replicas: int
    scale: Callable[[int], Awaitable[None]]


@dataclass
class Metric:
    """One trigger's reading: its external metric name, value (None: the query failed), activity."""

    name: str
    value: float | None
    active: bool
    error: str = ""


@dataclass
class State:
    """What KEDA and its HPA remember of one ScaledObject between syncs."""

    stabilizer: hpa.Stabilizer
    started: bool = False
    inactive_since: float | None = None
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # each metric's last error ("" when it was read)
    scaling: bool = False


class Keda:
    def __init__(
        self,
        store: Store,
        events: Recorder,
        faults: Faults,
        targets: Callable[[str, str], Target | None],
        downscale_stabilization_s: float,
    ) -> None:
        self.store, self.events, self.faults, self.targets = store, events, faults, targets
        self.downscale_stabilization_s = downscale_stabilization_s
        self.states: dict[tuple[str, str, str], State] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                await asyncio.sleep(KEDA_SYNC_S)
                try:
                    await self.sync(session)
                except Exception:  # a bad sync must not end autoscaling
                    log.exception("KEDA sync failed")

    async def sync(self, session: aiohttp.ClientSession) -> None:
        seen = set()
        for obj in self.store.list(SCALEDOBJECTS):
            meta = obj["metadata"]
            key = (meta["namespace"], meta["name"], meta["uid"])
            seen.add(key)
            if not meta.get("deletionTimestamp"):
                await self.reconcile(session, obj, key)
        for gone in set(self.states) - seen:
            del self.states[gone]

    async def reconcile(self, session: aiohttp.ClientSession, obj: Obj, key: tuple[str, str, str]) -> None:
        spec = obj.get("spec", {})
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = State(hpa.Stabilizer(*self.windows(spec)))
        target = self.targets(key[0], (spec.get("scaleTargetRef") or {}).get("name", ""))
        if target is None or state.scaling:
            return  # the Deployment is not there yet (or is being scaled): nothing to scale this time
        if not state.started:
            state.started = True
            await self.events.record(obj, "Normal", "KEDAScalersStarted", "Started scalers watch", COMPONENT)
            await self.events.record(obj, "Normal", "ScaledObjectReady", "ScaledObject is ready for scaling", COMPONENT)
        metrics = [await self.measure(session, obj, i, trigger) for i, trigger in enumerate(spec.get("triggers", []))]
        for metric in metrics:
            if metric.value is None:
                state.failures[metric.name] = state.failures.get(metric.name, 0) + 1
                if state.errors.get(metric.name) != metric.error:  # once per distinct error, not every sync
                    await self.events.record(obj, "Warning", "KEDAScalerFailed", metric.error, COMPONENT)
            else:
                state.failures[metric.name] = 0
            state.errors[metric.name] = metric.error
        active = any(m.active for m in metrics)
        await self.write_status(obj, metrics, active, state, target)
        if any(m.value is None for m in metrics):
            return  # the HPA cannot compute a metric it cannot read: the replicas stay
        want = self.desired(spec, metrics, target.replicas, state, active)
        if Fault.KEDA_IGNORES_TRIGGER in self.faults:
            want = target.replicas
        if want != target.replicas:
            state.scaling = True
            task = asyncio.get_running_loop().create_task(self.rescale(obj, target, want, metrics, state))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def windows(self, spec: Obj) -> tuple[float, float]:
        behavior = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior") or {}
        down = (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds")
        up = (behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds")
        return (self.downscale_stabilization_s if down is None else float(down)), (0.0 if up is None else float(up))

    async def measure(self, session: aiohttp.ClientSession, obj: Obj, index: int, trigger: Obj) -> Metric:
        kind = trigger.get("type", "")
        name = f"s{index}-{kind}"
        if kind != "prometheus":
            return Metric(name, None, False, f"the local KEDA has no {kind!r} scaler; it reads prometheus triggers")
        metadata = {k: str(v) for k, v in (trigger.get("metadata") or {}).items()}
        try:
            value = await prometheus.query(session, self.store, metadata)
        except prometheus.QueryError as err:
            return Metric(name, None, False, f"error getting metric {name}: {err}")
        return Metric(name, value, value > prometheus.activation(metadata))

    def desired(self, spec: Obj, metrics: list[Metric], current: int, state: State, active: bool) -> int:
        loop = asyncio.get_running_loop()
        minimum, maximum = int(spec.get("minReplicaCount", 0)), int(spec.get("maxReplicaCount") or 100)
        thresholds = [_threshold(t) for t in spec.get("triggers", [])]
        want = max(
            (
                hpa.external_replicas(m.value or 0.0, threshold, metric_type, current)
                for m, (threshold, metric_type) in zip(metrics, thresholds, strict=True)
            ),
            default=current,
        )
        floor = max(minimum, 1)
        if minimum == 0:  # KEDA itself takes the target to zero and back; the HPA never goes below one
            state.inactive_since = None if active else (state.inactive_since or loop.time())
            cooldown = float(spec.get("cooldownPeriod") or DEFAULT_COOLDOWN_S)
            if state.inactive_since is not None and loop.time() - state.inactive_since >= cooldown:
                return 0
            if current == 0 and not active:
                return 0
        want = max(floor, min(want, maximum))
        return max(floor, min(state.stabilizer.stabilize(loop.time(), want, current), maximum)) if current else want

    async def rescale(self, obj: Obj, target: Target, want: int, metrics: list[Metric], state: State) -> None:
        try:
            above = "above" if want > target.replicas else "below"
            values = ", ".join(f"{m.name}={m.value:g}" for m in metrics if m.value is not None)
            await self.events.record(
                obj,
                "Normal",
                "SuccessfulRescale",
                f"New size: {want}; reason: external metric {values} {above} target",
                "horizontal-pod-autoscaler",
            )
            await target.scale(want)
        finally:
            state.scaling = False

    async def write_status(self, obj: Obj, metrics: list[Metric], active: bool, state: State, target: Target) -> None:
        current = self.store.find(SCALEDOBJECTS, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if current is None:
            return
        old = current.get("status") or {}
        status: dict[str, Any] = {
            "scaleTargetKind": "apps/v1.Deployment",
            "scaleTargetGVKR": DEPLOYMENT_GVKR,
            "originalReplicaCount": old.get("originalReplicaCount", target.replicas),
            "externalMetricNames": [m.name for m in metrics],
            "health": {
                m.name: {
                    "numberOfFailures": state.failures.get(m.name, 0),
                    "status": "Failing" if m.value is None else "Happy",
                }
                for m in metrics
            },
            "conditions": [
                _condition("Ready", "True", *READY),
                _condition("Active", "True" if active else "False", *(ACTIVE if active else NOT_ACTIVE)),
                _condition("Fallback", "False", *NO_FALLBACK),
                {"type": "Paused", "status": "Unknown"},
            ],
        }
        if status != old:
            current["status"] = status
            await self.store.replace(
                SCALEDOBJECTS, current["metadata"]["namespace"], current["metadata"]["name"], current, "status"
            )


def _threshold(trigger: Obj) -> tuple[float, str]:
    metadata = trigger.get("metadata") or {}
    try:
        threshold = float(metadata.get("threshold", 0))
    except (TypeError, ValueError):
        threshold = 0.0
    return threshold, str(trigger.get("metricType") or "AverageValue")


def _condition(kind: str, status: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": status, "reason": reason, "message": message}
