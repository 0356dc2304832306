"""The autoscalers' control loop: every tick, each routed revision's replicas follow its autoscaler.

Knative mode: the KPA on the requests in flight through the gateway; Standard mode: the HPA on
the model servers' CPU (:mod:`kserve_local.knative.autoscaler` decides, this loop measures and
acts). KServe also allows ``scaleMetric: rps`` (Knative) and ``memory`` (HPA); the target does not
measure those, keeps the replicas, and says so once in a ``MetricNotMeasured`` Warning event.
One rescale at a time per revision; a tick that raises is logged, and the next tick runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import INFERENCESERVICES, RESOURCES
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Fault, Faults
from kserve_local.knative.autoscaler import Hpa, KnativeConfig, Kpa, Scaling
from kserve_local.knative.revision import Revision
from kserve_local.kubelet import Kubelet
from kserve_local.timeouts import AUTOSCALER_TICK_S

log = logging.getLogger(__name__)
CONFIGMAPS = next(r for r in RESOURCES if r.plural == "configmaps")
# What the local autoscalers measure: in-flight requests through the gateway (KPA) and the model
# servers' CPU (HPA). KServe also allows rps (Knative) and memory (HPA); those are not scaled here.
MEASURED_METRICS: dict[type, frozenset[str]] = {Kpa: frozenset({"concurrency"}), Hpa: frozenset({"cpu"})}


class Scaler:
    def __init__(
        self, store: Store, kubelet: Kubelet, events: Recorder, faults: Faults, routed: Callable[[], Iterable[Revision]]
    ) -> None:
        self.store, self.kubelet, self.events, self.faults = store, kubelet, events, faults
        self.routed = routed  # the revisions that get traffic now (the controller knows them)
        self._scaling: set[Revision] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(AUTOSCALER_TICK_S)
            try:
                await self.tick()
            except Exception:  # a bad tick must not end autoscaling
                log.exception("autoscaler tick failed")

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        knative = KnativeConfig.of(self._configmap("knative-serving", "config-autoscaler"))
        for revision in list(self.routed()):
            if not revision.ever_ready or revision in self._scaling or revision.autoscaler is None:
                continue  # (no autoscaler of its own: KEDA scales it, kserve_local/keda)
            if revision.scaling.metric not in MEASURED_METRICS[type(revision.autoscaler)]:
                await self._unmeasured(revision)
                continue
            ready, current = len(revision.ready_replicas()), len(revision.replicas)
            if isinstance(revision.autoscaler, Kpa):
                revision.autoscaler.observe(loop.time(), revision.average_concurrency())
                want = revision.autoscaler.desired(loop.time(), ready, knative)
            elif isinstance(revision.autoscaler, Hpa):
                cpu = self.kubelet.cpu_percent(revision.ready_replicas())
                want = revision.autoscaler.desired(loop.time(), ready, cpu)
            else:
                continue
            want = self._faulty(want, current, revision.scaling)
            if want != current:
                isvc = self.store.find(INFERENCESERVICES, revision.namespace, revision.isvc)
                if isvc is not None:
                    self._scaling.add(revision)  # one rescale at a time per revision
                    self._tasks.add(task := loop.create_task(self._rescale(isvc, revision, current, want)))
                    task.add_done_callback(self._tasks.discard)

    async def _unmeasured(self, revision: Revision) -> None:
        """A metric the local target cannot measure: replicas stay, and an event says why (once)."""
        if revision.unmeasured_reported:
            return
        revision.unmeasured_reported = True
        isvc = self.store.find(INFERENCESERVICES, revision.namespace, revision.isvc)
        if isvc is not None:
            kinds = "/".join(sorted(MEASURED_METRICS[type(revision.autoscaler)]))
            await self.events.record(
                isvc,
                "Warning",
                "MetricNotMeasured",
                f"scaleMetric {revision.scaling.metric} is not measured by the local target "
                f"(it scales on {kinds} here); revision {revision.name} keeps its replicas",
            )

    async def _rescale(self, isvc: Obj, revision: Revision, current: int, want: int) -> None:
        try:
            await self.events.record(
                isvc,
                "Normal",
                "Scaled" if want else "ScaledToZero",
                f"revision {revision.name} scaled from {current} to {want} replicas",
            )
            await self.kubelet.scale(isvc, revision, want)
        finally:
            self._scaling.discard(revision)

    def _faulty(self, want: int, current: int, scaling: Scaling) -> int:
        if Fault.NO_AUTOSCALE in self.faults:
            want = min(want, max(1, scaling.min_replicas)) if current else want
        if Fault.NEVER_SCALE_TO_ZERO in self.faults:
            want = max(want, 1)
        if Fault.NO_SCALE_DOWN in self.faults:
            want = max(want, current)
        return want

    def _configmap(self, namespace: str, name: str) -> dict[str, str] | None:
        obj = self.store.find(CONFIGMAPS, namespace, name)
        return obj.get("data") if obj else None
