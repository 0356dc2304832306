"""Turns each InferenceService into revisions of real KServe model-server processes, and reports like KServe.

The status it writes follows KServe's controller: the ``PredictorReady``, ``IngressReady`` and
``Ready`` conditions move from Unknown to True (or False with a reason), ``status.url`` and
``status.address.url`` follow the deployment mode and the configured templates, and
``observedGeneration`` tracks the spec it acted on. Pod objects, events and the model servers'
logs (served as the pods' logs) give diagnostics the same shape as on a real cluster.

A change of the predictor's spec is a new revision, as on Knative (``NAME-predictor-00002``);
``canaryTrafficPercent`` alone is not, it only moves traffic (``kserve_conformance.local.traffic``
holds KServe's rules: the canary share to the latest ready revision, the rest to the last one
rolled out; removing it promotes, 0 rolls back). Traffic moves only to a revision that answers,
so a rollout loses no request. A revision no longer routed is scaled to zero and kept, so a
rollback can bring it back through the activator. In Standard mode a spec change is a rolling
update of the one Deployment: the old replicas go once the new ones answer.

Each revision has 0..N replicas, each a model-server process with its pod. Knative's autoscaler
(in-flight requests through the gateway, scale to zero after the grace period) or, in Standard
mode, the HPA (the model servers' CPU) decides how many (``kserve_conformance.local.autoscaler``).
A model server that dies is restarted with a back-off, as a kubelet restarts a container; a
reconcile that raises is logged, shown as an event, and retried: the loop never wedges on one object.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from kserve_conformance.local import runtimes
from kserve_conformance.local.autoscaler import Hpa, KnativeConfig, Kpa, Scaling
from kserve_conformance.local.resources import INFERENCESERVICES, RESOURCES
from kserve_conformance.local.revision import Launch, Replica, Revision, pod_suffix
from kserve_conformance.local.runtimes import IMAGE, NoRuntime
from kserve_conformance.local.storage import StorageError, StorageMap
from kserve_conformance.local.store import Obj, Store, now
from kserve_conformance.local.traffic import Rollout, Target, settle
from kserve_conformance.timeouts import DEFAULT
from kserve_conformance.urls import KNATIVE, IngressConfig, expected_urls, service_mode

log = logging.getLogger(__name__)

PODS = next(r for r in RESOURCES if r.plural == "pods")
EVENTS = next(r for r in RESOURCES if r.plural == "events")
CONFIGMAPS = next(r for r in RESOURCES if r.plural == "configmaps")
FINALIZER = "inferenceservice.finalizers"
KNATIVE_CONDITIONS = ("RoutesReady", "LatestDeploymentReady", "PredictorRouteReady", "PredictorConfigurationReady")
MODEL_SERVER_STARTUP_S = DEFAULT.model_server_startup_s
# A kubelet's CrashLoopBackOff starts at 10 s and doubles to 5 min; the local target starts at 1 s
# so that a self-test sees a restart in seconds, and caps at 30 s.
RESTART_BACKOFF_S, RESTART_BACKOFF_MAX_S = 1.0, 30.0
RECONCILE_BACKOFF_S, RECONCILE_BACKOFF_MAX_S = 0.5, 60.0
AUTOSCALER_TICK_S = 0.5  # Knative's autoscaler ticks every 2 s; the HPA syncs every 15 s by default
DRAIN_S = 10.0  # a replica taken out of routing finishes its in-flight requests before it is stopped
# Faults the model server itself implements (see kserve_conformance.local.modelserver).
MODEL_SERVER_FAULTS = {"wrong-prediction", "model-not-ready", "server-error"}
# What the local autoscalers measure: in-flight requests through the gateway (KPA) and the model
# servers' CPU (HPA). KServe also allows rps (Knative) and memory (HPA); those are not scaled here.
MEASURED_METRICS: dict[type, frozenset[str]] = {Kpa: frozenset({"concurrency"}), Hpa: frozenset({"cpu"})}
# Annotations that are not part of the revision template (kubectl's own bookkeeping).
NOT_TEMPLATE_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def revision_template(isvc: Obj) -> dict[str, Any]:
    """What makes a new revision: the predictor spec except ``canaryTrafficPercent``, and the
    annotations KServe propagates to the revision template."""
    predictor = copy.deepcopy(isvc["spec"].get("predictor", {}))
    predictor.pop("canaryTrafficPercent", None)
    annotations = {k: v for k, v in (isvc["metadata"].get("annotations") or {}).items()
                   if k not in NOT_TEMPLATE_ANNOTATIONS}
    return {"predictor": predictor, "annotations": annotations}


@dataclass(eq=False)
class Service:
    """One InferenceService's revisions and where its traffic goes."""

    namespace: str
    name: str
    mode: str
    revisions: dict[str, Revision] = field(default_factory=dict)
    latest_created: Revision | None = None
    latest_ready: Revision | None = None
    rollout: Rollout = field(default_factory=Rollout)
    traffic: list[Target] = field(default_factory=list)
    degraded: bool = False  # a crash took the serving revision's last replica; Ready goes back once it answers
    next_number: int = 1

    def routed(self) -> list[tuple[Target, Revision]]:
        return [(t, self.revisions[t.revision]) for t in self.traffic if t.revision in self.revisions]


class Reconciler:
    """Watches InferenceServices in the store and keeps their revisions serving and scaled."""

    def __init__(self, store: Store, config: IngressConfig, storage: StorageMap, state_dir: Path,
                 faults: dict[str, str], on_routes: Callable[[], None],
                 hpa_downscale_stabilization_s: float = 300.0) -> None:
        self.store, self.config, self.storage = store, config, storage
        self.state_dir, self.faults, self.on_routes = state_dir, faults, on_routes
        self.hpa_downscale_stabilization_s = hpa_downscale_stabilization_s
        self.services: dict[tuple[str, str], Service] = {}
        self.attempted: dict[tuple[str, str], int] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._event_count = 0
        self._scaling: set[Revision] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        autoscaler = asyncio.get_running_loop().create_task(self._autoscale_forever())
        try:
            async for event in self.store.watch(INFERENCESERVICES, since=None):
                await self._reconcile_safely(event.object)
        finally:
            autoscaler.cancel()

    async def _reconcile_safely(self, isvc: Obj) -> None:
        """A reconcile that raises is an event and a retry with back-off, never a dead loop."""
        meta = isvc.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        try:
            await self.reconcile(isvc)
            self._failures.pop(key, None)
        except Exception as err:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            delay = min(RECONCILE_BACKOFF_S * 2 ** (failures - 1), RECONCILE_BACKOFF_MAX_S)
            log.exception("reconcile failed for %s/%s; retrying in %.1fs", *key, delay)
            self.attempted.pop(key, None)
            await self._event(isvc, "Warning", "InternalError", f"reconcile failed: {err}; retrying in {delay:g}s")
            asyncio.get_running_loop().call_later(delay, self._retry, key)

    def _retry(self, key: tuple[str, str]) -> None:
        current = self.store.find(INFERENCESERVICES, *key)
        if current is not None:
            asyncio.get_running_loop().create_task(self._reconcile_safely(current))

    async def reconcile(self, isvc: Obj) -> None:
        meta = isvc["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        current = self.store.find(INFERENCESERVICES, namespace, name)
        if current is None:
            return
        if current["metadata"].get("deletionTimestamp"):
            await self._finalize(current)
            return
        if FINALIZER not in current["metadata"].get("finalizers", []):
            finalizers = [*current["metadata"].get("finalizers", []), FINALIZER]
            current["metadata"]["finalizers"] = finalizers
            await self.store.replace(INFERENCESERVICES, namespace, name, current)
            return  # the MODIFIED event brings us back
        generation = current["metadata"]["generation"]
        if self.attempted.get((namespace, name)) == generation:
            return  # our own status writes come back as events: act once per spec generation
        self.attempted[(namespace, name)] = generation
        mode = service_mode(current["metadata"].get("annotations"), self.config)
        service = self.services.setdefault((namespace, name), Service(namespace, name, mode))
        latest = service.latest_created
        if latest is None or latest.template != revision_template(current):
            await self._create_revision(current, service)
        elif service.latest_ready is latest:
            await self._route(current, service)  # canaryTrafficPercent alone: traffic moves, no revision
            await self._write_ready_status(current, service)
        # else: the latest revision is still starting; it routes and writes status when it answers

    # --- revisions ---------------------------------------------------------------------------
    async def _create_revision(self, isvc: Obj, service: Service) -> None:
        meta = isvc["metadata"]
        predictor_spec = isvc["spec"].get("predictor", {})
        model, _ = runtimes.model_spec(isvc)
        try:
            selected = runtimes.select(self.store, isvc)
            model_dir = self.storage.resolve(model.get("storageUri", ""))
        except NoRuntime as err:
            await self._fail(isvc, service, err.reason, err.message)
            return
        except StorageError as err:
            await self._fail(isvc, service, "ModelLoadFailed", f"storage initializer: {err}")
            return
        options = runtimes.server_options(selected.args)
        if options.get("workers", "1") != "1":
            # KServe's multiprocess REST server respawns its spawned workers in a loop here, so the
            # argument is refused in the open rather than served with one worker in silence.
            await self._fail(isvc, service, "UnsupportedArgument",
                             f"--workers={options['workers']}: the local target runs one model-server worker "
                             "per replica")
            return
        env = tuple((e["name"], str(e.get("value", ""))) for e in model.get("env") or [] if "name" in e)
        launch = Launch(model_name=options.get("model_name") or meta["name"], model_dir=model_dir,
                        protocol=model.get("protocolVersion", "v1"), runtime=selected.name, args=selected.args,
                        env=env, h2c=any(p.get("name") == "h2c" for p in model.get("ports") or []))
        standard = service.mode != KNATIVE
        scaling = Scaling.of(predictor_spec, model, meta.get("annotations") or {}, standard)
        revision = Revision(meta["name"], meta["namespace"], service.next_number, revision_template(isvc), launch,
                            scaling)
        revision.autoscaler = Hpa(scaling, self.hpa_downscale_stabilization_s) if standard else Kpa(scaling)
        revision.activator = self._activate
        service.next_number += 1
        superseded = service.latest_created
        service.revisions[revision.name] = revision
        service.latest_created = revision
        if superseded is not None and not superseded.ever_ready:
            await self._retire(isvc, service, superseded)  # a newer spec while it was still starting
        serving = service.latest_ready is not None
        await self._set_status(isvc, predictor=("Unknown", "Reconciling", "model server is starting"),
                               ingress=("True", "", "") if serving else
                               ("Unknown", "Reconciling", "waiting for the predictor"),
                               components=self._components(isvc, service))
        # Knative's initial scale is 1 (min-scale if higher) even for a revision that may scale to zero.
        await self._scale(isvc, revision, max(1, scaling.min_replicas))

    async def _revision_ready(self, isvc: Obj, service: Service, revision: Revision) -> None:
        """The first replica of a revision answers: it becomes the latest ready one, traffic moves."""
        revision.ever_ready = True
        if service.latest_created is not revision:
            await self._retire(isvc, service, revision)  # superseded while starting
            return
        service.latest_ready = revision
        await self._route(isvc, service)
        await self._write_ready_status(isvc, service)

    async def _route(self, isvc: Obj, service: Service) -> None:
        """Traffic from KServe's rules; revisions no longer routed scale to zero (Standard: go)."""
        ready = service.latest_ready
        if ready is None:
            return
        meta = isvc["metadata"]
        urls = expected_urls(meta["name"], meta["namespace"], service.mode, self.config, meta.get("annotations"),
                             meta.get("labels"))
        hosts = (urls.host, self._predictor_host(meta["name"], meta["namespace"], service.mode))
        if service.mode == KNATIVE:
            canary = isvc["spec"].get("predictor", {}).get("canaryTrafficPercent")
            created = service.latest_created.name if service.latest_created else ready.name
            service.traffic, service.rollout = settle(canary, ready.name, created, service.rollout)
        else:
            service.traffic = [Target(ready.name, 100, True)]
        routed = {t.revision for t in service.traffic}
        for revision in service.revisions.values():
            revision.hosts, revision.path_prefix = (hosts, urls.path_prefix) if revision.name in routed else ((), "")
        self.on_routes()
        for revision in list(service.revisions.values()):
            if revision.name in routed:
                if not revision.replicas and revision.scaling.min_replicas > 0:
                    await self._scale(isvc, revision, revision.scaling.min_replicas)  # routed again: min-scale
            elif revision is not service.latest_created:
                await self._retire(isvc, service, revision, keep=service.mode == KNATIVE)

    async def _retire(self, isvc: Obj, service: Service, revision: Revision, keep: bool = False) -> None:
        """A revision scaled to zero (Knative keeps it for a rollback) or the old ReplicaSet gone."""
        had = bool(revision.replicas)
        await self._scale(isvc, revision, 0)
        if not keep:
            service.revisions.pop(revision.name, None)
        if had:
            await self._event(isvc, "Normal", "RevisionRetired", f"revision {revision.name} scaled to zero")

    # --- replicas ----------------------------------------------------------------------------
    async def _scale(self, isvc: Obj, revision: Revision, replicas: int) -> None:
        """Start or stop replicas until ``replicas`` run; removed ones drain first."""
        while len(revision.replicas) < replicas:
            await self._start_replica(isvc, revision)
        extra = revision.replicas[replicas:]
        if not extra:
            return
        # Newest and not-yet-ready first, as a ReplicaSet scales down.
        victims = sorted(revision.replicas, key=lambda r: (r.ready, -revision.replicas.index(r)))[:len(extra)]
        for replica in victims:
            revision.replicas.remove(replica)
            replica.ready = False
        self.on_routes()
        await revision.changed()
        await asyncio.gather(*(self._remove_replica(revision, r) for r in victims))

    async def _remove_replica(self, revision: Revision, replica: Replica) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while replica.inflight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if replica.task is not None:
            replica.task.cancel()
        await stop_process(replica.process)
        with contextlib.suppress(Exception):
            await self.store.delete(PODS, revision.namespace, replica.pod_name)

    async def _start_replica(self, isvc: Obj, revision: Revision, restarts: int = 0,
                             replacing: Replica | None = None) -> Replica:
        """A new model-server process; a restart keeps the pod (and its place) of the one it replaces."""
        launch = revision.launch
        pod_name = replacing.pod_name if replacing else f"{revision.name}-deployment-{pod_suffix()}"
        log_path = self.state_dir / "logs" / f"{revision.namespace}.{pod_name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        http_port, grpc_port = free_port(), free_port()
        args = [sys.executable, "-m", "kserve_conformance.local.modelserver", "--model-name", launch.model_name,
                "--model-dir", str(launch.model_dir), "--http-port", str(http_port), "--grpc-port", str(grpc_port)]
        for fault in sorted(self.faults.keys() & MODEL_SERVER_FAULTS):
            args += ["--fault", fault]
        with log_path.open("ab") as out:
            process = await asyncio.create_subprocess_exec(*args, stdout=out, stderr=out,
                                                           env={**os.environ, **dict(launch.env)})
        replica = Replica(pod_name, http_port, grpc_port, process, log_path, restarts=restarts)
        if replacing in revision.replicas:
            revision.replicas[revision.replicas.index(replacing)] = replica
        else:
            revision.replicas.append(replica)
        await self._write_pod(isvc, revision, replica, phase="Pending", ready=False)
        verb = "restarted" if restarts else "started"
        await self._event(isvc, "Normal", "ModelServerStarted",
                          f"{verb} model server for {revision.isvc} ({launch.protocol}, runtime {launch.runtime}, "
                          f"revision {revision.name}, pod {pod_name}) on port {http_port}")
        replica.task = asyncio.get_running_loop().create_task(self._run_replica(isvc, revision, replica))
        return replica

    async def _run_replica(self, isvc: Obj, revision: Revision, replica: Replica) -> None:
        """Wait until the model server answers, put it in service, then watch it until it exits."""
        base = f"http://127.0.0.1:{replica.http_port}"
        name = revision.launch.model_name
        probe = f"{base}/v2/models/{name}/ready" if revision.launch.protocol == "v2" else f"{base}/v1/models/{name}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MODEL_SERVER_STARTUP_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while loop.time() < deadline:
                if replica.process.returncode is not None:
                    await self._replica_exited(isvc, revision, replica)
                    return
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(probe) as response:
                        # Liveness, not readiness: a model that loaded but reports not ready is the
                        # model's verdict to surface through the data plane, as a kubelet would only
                        # see a running container.
                        if response.status < 500 or "model-not-ready" in self.faults:
                            break
                await asyncio.sleep(0.1)
            else:
                service = self.services.get(revision.key)
                if service is not None and not revision.ever_ready:
                    await self._fail(isvc, service, "ProgressDeadlineExceeded",
                                     f"model server did not answer within {MODEL_SERVER_STARTUP_S:.0f}s")
                return
        if replica not in revision.replicas:
            return  # scaled away while starting
        replica.ready = True
        await self._write_pod(isvc, revision, replica, phase="Running", ready=True)
        self.on_routes()
        await revision.changed()
        service = self.services.get(revision.key)
        if service is not None:
            if not revision.ever_ready:
                await self._revision_ready(self._latest(isvc), service, revision)
            elif service.degraded and service.latest_ready is revision:
                await self._write_ready_status(self._latest(isvc), service)
        await replica.process.wait()
        if replica in revision.replicas:
            await self._replica_exited(isvc, revision, replica)

    async def _replica_exited(self, isvc: Obj, revision: Revision, replica: Replica) -> None:
        """The container exited: its pod says so, traffic stops, and a kubelet-style restart follows."""
        service = self.services.get(revision.key)
        if service is None or replica not in revision.replicas:
            return  # retired on purpose
        tail = replica.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        was_ready, replica.ready = replica.ready, False
        self.on_routes()
        code = replica.process.returncode
        await self._write_pod(isvc, revision, replica, phase="Running", ready=False, exit_code=code)
        if not revision.ready_replicas() and (service.latest_ready is revision or not revision.ever_ready):
            reason = "ModelServerCrashed" if was_ready else "ModelLoadFailed"
            service.degraded = was_ready
            await self._fail(self._latest(isvc), service, reason, f"model server exited with code {code}: {tail[0]}")
        delay = min(RESTART_BACKOFF_S * 2 ** replica.restarts, RESTART_BACKOFF_MAX_S)
        await self._event(isvc, "Warning", "BackOff", f"Back-off {delay:g}s restarting failed container "
                                                      f"kserve-container in pod {replica.pod_name}")
        await asyncio.sleep(delay)
        if replica not in revision.replicas or revision.key not in self.services:
            return  # scaled away or deleted while backing off
        await self._start_replica(self._latest(isvc), revision, restarts=replica.restarts + 1, replacing=replica)

    async def _activate(self, revision: Revision) -> None:
        """Knative's activator: a request for a revision at zero replicas scales it to one."""
        if revision.replicas or "no-activator" in self.faults:
            return
        isvc = self.store.find(INFERENCESERVICES, revision.namespace, revision.isvc)
        if isvc is not None:
            await self._scale(isvc, revision, 1)

    # --- autoscaling -------------------------------------------------------------------------
    async def _autoscale_forever(self) -> None:
        while True:
            await asyncio.sleep(AUTOSCALER_TICK_S)
            try:
                await self._autoscale()
            except Exception:  # a bad tick must not end autoscaling
                log.exception("autoscaler tick failed")

    async def _autoscale(self) -> None:
        loop = asyncio.get_running_loop()
        knative = KnativeConfig.of(self._configmap("knative-serving", "config-autoscaler"))
        for service in list(self.services.values()):
            for _, revision in service.routed():
                if not revision.ever_ready or revision in self._scaling:
                    continue
                if revision.scaling.metric not in MEASURED_METRICS[type(revision.autoscaler)]:
                    await self._unmeasured(revision)
                    continue
                ready, current = len(revision.ready_replicas()), len(revision.replicas)
                if isinstance(revision.autoscaler, Kpa):
                    revision.autoscaler.observe(loop.time(), revision.average_concurrency())
                    want = revision.autoscaler.desired(loop.time(), ready, knative)
                elif isinstance(revision.autoscaler, Hpa):
                    cpu = self._cpu_percent(revision)
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
            await self._event(isvc, "Warning", "MetricNotMeasured",
                              f"scaleMetric {revision.scaling.metric} is not measured by the local target "
                              f"(it scales on {kinds} here); revision {revision.name} keeps its replicas")

    async def _rescale(self, isvc: Obj, revision: Revision, current: int, want: int) -> None:
        try:
            await self._event(isvc, "Normal", "Scaled" if want else "ScaledToZero",
                              f"revision {revision.name} scaled from {current} to {want} replicas")
            await self._scale(isvc, revision, want)
        finally:
            self._scaling.discard(revision)

    def _faulty(self, want: int, current: int, scaling: Scaling) -> int:
        if "no-autoscale" in self.faults:
            want = min(want, max(1, scaling.min_replicas)) if current else want
        if "never-scale-to-zero" in self.faults:
            want = max(want, 1)
        if "no-scale-down" in self.faults:
            want = max(want, current)
        return want

    def _cpu_percent(self, revision: Revision) -> list[float]:
        """Each ready replica's CPU since the last sample, in percent of one core (metrics-server's view)."""
        samples = []
        for replica in revision.ready_replicas():
            with contextlib.suppress(psutil.Error):
                if replica.cpu is None:  # the first reading only starts the measurement
                    replica.cpu = psutil.Process(replica.process.pid)
                    replica.cpu.cpu_percent(interval=None)
                    continue
                samples.append(replica.cpu.cpu_percent(interval=None))
        return samples

    def _configmap(self, namespace: str, name: str) -> dict[str, str] | None:
        obj = self.store.find(CONFIGMAPS, namespace, name)
        return obj.get("data") if obj else None

    # --- endings -----------------------------------------------------------------------------
    async def _fail(self, isvc: Obj, service: Service, reason: str, message: str) -> None:
        """The new spec cannot be served; a previous revision that still serves keeps its route."""
        serving = service.latest_ready is not None and bool(service.latest_ready.ready_replicas())
        await self._set_status(isvc, predictor=("False", reason, message),
                               ingress=("True", "", "") if serving else
                               ("False", "PredictorNotReady", "the predictor is not ready"),
                               loaded=False, failure=(reason, message))
        await self._event(isvc, "Warning", "InternalError", message)

    async def _finalize(self, isvc: Obj) -> None:
        meta = isvc["metadata"]
        key = (meta["namespace"], meta["name"])
        self.attempted.pop(key, None)
        service = self.services.pop(key, None)
        if service is not None:
            for revision in service.revisions.values():
                revision.hosts = ()
            self.on_routes()
            replicas = [(rev, r) for rev in service.revisions.values() for r in rev.replicas]
            for revision in service.revisions.values():
                revision.replicas = []
            await asyncio.gather(*(self._remove_replica(rev, r) for rev, r in replicas))
        for pod in self.store.list(PODS, meta["namespace"], _owned_by(meta["name"])):
            with contextlib.suppress(Exception):
                await self.store.delete(PODS, meta["namespace"], pod["metadata"]["name"])
        latest = self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"])
        if latest is not None and FINALIZER in latest["metadata"].get("finalizers", []):
            latest["metadata"]["finalizers"] = [f for f in latest["metadata"]["finalizers"] if f != FINALIZER]
            await self.store.replace(INFERENCESERVICES, meta["namespace"], meta["name"], latest)

    async def shutdown(self) -> None:
        replicas = [r for s in self.services.values() for rev in s.revisions.values() for r in rev.replicas]
        self.services = {}
        for replica in replicas:
            if replica.task is not None:
                replica.task.cancel()
        await asyncio.gather(*(stop_process(r.process) for r in replicas))

    # --- status and diagnostics objects -------------------------------------------------------
    def _latest(self, isvc: Obj) -> Obj:
        """The stored object as it is now (statuses are written against the current generation)."""
        meta = isvc["metadata"]
        return self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"]) or isvc

    async def _write_ready_status(self, isvc: Obj, service: Service) -> None:
        meta = isvc["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        urls = expected_urls(name, namespace, service.mode, self.config, meta.get("annotations"), meta.get("labels"))
        url = urls.url
        if "wrong-url-host" in self.faults:  # the other mode's format: the kserve#3956 mix-up
            other = "Standard" if service.mode == KNATIVE else KNATIVE
            url = expected_urls(name, namespace, other, self.config).url
        ingress: tuple[str, str, str] = ("True", "", "")
        if "never-ready" in self.faults:
            ingress = ("False", "IngressNotConfigured", "fault injected: ingress never becomes ready")
        address = urls.address_url
        if "wrong-address" in self.faults:
            address = address.replace(f".{namespace}.", ".default.")
        latest_is_ready = service.latest_created is service.latest_ready
        predictor = ("True", "", "") if latest_is_ready else ("Unknown", "Reconciling", "model server is starting")
        service.degraded = False
        await self._set_status(isvc, predictor=predictor, ingress=ingress, url=url, address=address,
                               components=self._components(isvc, service), loaded=latest_is_ready or None)
        if ingress[0] == "True" and latest_is_ready:
            await self._event(isvc, "Normal", "InferenceServiceReady", f"InferenceService [{name}] is Ready")

    def _components(self, isvc: Obj, service: Service) -> dict[str, Any] | None:
        """``status.components.predictor`` as KServe writes it from the Knative Service (or Deployment)."""
        ready, created = service.latest_ready, service.latest_created
        if ready is None or created is None:
            return None
        meta = isvc["metadata"]
        scheme = "https" if self.config.url_scheme == "https" else "http"
        predictor: dict[str, Any] = {
            "url": f"{scheme}://{self._predictor_host(meta['name'], meta['namespace'], service.mode)}",
            "latestCreatedRevision": created.name, "latestReadyRevision": ready.name}
        if service.mode == KNATIVE:
            if service.rollout.latest:
                predictor["latestRolledoutRevision"] = service.rollout.latest
            if service.rollout.previous:
                predictor["previousRolledoutRevision"] = service.rollout.previous
            traffic = [t.as_status() for t in service.traffic]
            if "split-traffic" in self.faults:
                traffic = [{**traffic[0], "percent": 90},
                           {"revisionName": f"{meta['name']}-predictor-00000", "percent": 10, "latestRevision": False}]
            predictor["traffic"] = traffic
        return {"predictor": predictor}

    def _predictor_host(self, name: str, namespace: str, mode: str) -> str:
        if mode == KNATIVE:
            return f"{name}-predictor.{namespace}.{self.config.knative_domain}"
        return f"{name}-predictor-{namespace}.{self.config.ingress_domain}"

    async def _set_status(self, isvc: Obj, predictor: tuple[str, str, str], ingress: tuple[str, str, str],
                          url: str | None = None, address: str | None = None,
                          components: dict[str, Any] | None = None, loaded: bool | None = None,
                          failure: tuple[str, str] | None = None) -> None:
        meta = isvc["metadata"]
        latest = self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"])
        if latest is None or latest["metadata"]["generation"] != meta["generation"]:
            return  # superseded: the next reconcile writes the status for the new spec
        previous = {c["type"]: c for c in latest.get("status", {}).get("conditions", [])}
        ready_status = "True" if predictor[0] == ingress[0] == "True" else (
            "False" if "False" in (predictor[0], ingress[0]) else "Unknown")
        wanted = {"PredictorReady": predictor, "IngressReady": ingress,
                  "Ready": (ready_status, "" if ready_status == "True" else (predictor[1] or ingress[1]),
                            "" if ready_status == "True" else (predictor[2] or ingress[2]))}
        if service_mode(meta.get("annotations"), self.config) == KNATIVE:
            # The conditions KServe propagates from the Knative Route and Configuration.
            for ctype in KNATIVE_CONDITIONS:
                wanted[ctype] = predictor
        if "missing-condition" in self.faults:
            wanted.pop(self.faults["missing-condition"] or "IngressReady", None)
        conditions = []
        for ctype, (status, reason, message) in sorted(wanted.items()):
            cond: dict[str, Any] = {"type": ctype, "status": status}
            old = previous.get(ctype)
            cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old["status"] == status else now()
            if reason:
                cond["reason"] = reason
            if message:
                cond["message"] = message
            conditions.append(cond)
        status: dict[str, Any] = dict(latest.get("status", {}))
        observed = meta["generation"] - (1 if "stale-generation" in self.faults else 0)
        status.update(conditions=conditions, observedGeneration=observed)
        if url is not None:
            status["url"] = url
            status["address"] = {"url": address}
        if components is not None:
            status["components"] = components
        if loaded is not None:
            state = "Loaded" if loaded else "FailedToLoad"
            status["modelStatus"] = {"transitionStatus": "UpToDate" if loaded else "BlockedByFailedLoad",
                                     "states": {"activeModelState": state if loaded else "",
                                                "targetModelState": state}}
            if failure:
                status["modelStatus"]["lastFailureInfo"] = {"reason": failure[0], "message": failure[1]}
        latest["status"] = status
        await self.store.replace(INFERENCESERVICES, meta["namespace"], meta["name"], latest, "status")

    async def _write_pod(self, isvc: Obj, revision: Revision, replica: Replica, phase: str, ready: bool,
                         exit_code: int | None = None) -> None:
        ports = [{"name": "http", "containerPort": replica.http_port},
                 {"name": "grpc", "containerPort": replica.grpc_port}]
        existing = self.store.find(PODS, revision.namespace, replica.pod_name)
        env = [{"name": k, "value": v} for k, v in revision.launch.env]
        pod = existing or {"metadata": {
            "name": replica.pod_name, "namespace": revision.namespace,
            "labels": {"serving.kserve.io/inferenceservice": revision.isvc, "component": "predictor",
                       "serving.knative.dev/revision": revision.name},
            "ownerReferences": [{"apiVersion": INFERENCESERVICES.api_version, "kind": "InferenceService",
                                 "name": revision.isvc, "uid": isvc["metadata"]["uid"]}]},
            "spec": {"containers": [{"name": "kserve-container", "image": IMAGE, "args": list(revision.launch.args),
                                     "ports": ports, **({"env": env} if env else {})}]}}
        if existing is None:
            pod = await self.store.create(PODS, revision.namespace, pod)
        else:  # a restart: the kubelet keeps the pod, the new container listens on new ports here
            pod["spec"]["containers"][0]["ports"] = ports
            pod = await self.store.replace(PODS, revision.namespace, replica.pod_name, pod)
        state: dict[str, Any] = ({"terminated": {"exitCode": exit_code, "reason": "Error", "finishedAt": now()}}
                                 if exit_code is not None else
                                 {"running": {"startedAt": now()}} if phase == "Running" else
                                 {"waiting": {"reason": "ContainerCreating"}})
        restarts = replica.restarts + (1 if exit_code is not None else 0)
        flag = "True" if ready else "False"
        pod["status"] = {"phase": phase, "podIP": "127.0.0.1", "conditions": [
            {"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": flag}, {"type": "Ready", "status": flag}],
            "containerStatuses": [
            {"name": "kserve-container", "image": IMAGE, "imageID": IMAGE, "ready": ready, "restartCount": restarts,
             "started": phase == "Running" and exit_code is None, "state": state}]}
        with contextlib.suppress(Exception):  # scaled away meanwhile: the pod is gone
            await self.store.replace(PODS, revision.namespace, replica.pod_name, pod, "status")

    async def _event(self, isvc: Obj, kind: str, reason: str, message: str) -> None:
        self._event_count += 1
        meta = isvc["metadata"]
        with contextlib.suppress(Exception):  # the namespace may be terminating; events are best effort
            await self.store.create(EVENTS, meta["namespace"], {
                "metadata": {"name": f"{meta['name']}.{self._event_count:06d}"},
                "involvedObject": {"apiVersion": INFERENCESERVICES.api_version, "kind": "InferenceService",
                                   "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
                "type": kind, "reason": reason, "message": message, "count": 1,
                "firstTimestamp": now(), "lastTimestamp": now(),
                "source": {"component": "kserve-conformance-local"}})

    def pod_log(self, namespace: str, pod_name: str) -> Path | None:
        for service in self.services.values():
            for revision in service.revisions.values():
                for replica in revision.replicas:
                    if revision.namespace == namespace and replica.pod_name == pod_name:
                        return replica.log_path
        exact = self.state_dir / "logs" / f"{namespace}.{pod_name}.log"
        if exact.exists():
            return exact
        isvc = pod_name.split("-predictor-")[0]
        matches = sorted((self.state_dir / "logs").glob(f"{namespace}.{isvc}-predictor-*.log"),
                         key=lambda p: p.stat().st_mtime)
        return matches[-1] if matches else None

def _owned_by(name: str) -> Callable[[Obj], bool]:
    return lambda pod: pod["metadata"].get("labels", {}).get("serving.kserve.io/inferenceservice") == name


async def stop_process(process: asyncio.subprocess.Process, grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it lingers: nothing may outlive the target."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
