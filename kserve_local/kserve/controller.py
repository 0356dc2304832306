"""KServe's InferenceService reconcile loop: each spec becomes revisions of real model-server processes.

A change of the predictor's spec is a new revision, as on Knative (``NAME-predictor-00002``);
``canaryTrafficPercent`` alone is not, it only moves traffic (:mod:`kserve_local.knative.traffic`
holds KServe's rules: the canary share to the latest ready revision, the rest to the last one
rolled out; removing it promotes, 0 rolls back). Traffic moves only to a revision that answers,
so a rollout loses no request. A revision no longer routed is scaled to zero and kept, so a
rollback can bring it back through the activator. In Standard mode a spec change is a rolling
update of the one Deployment: the old replicas go once the new ones answer.

The roles a cluster splits over several controllers are split here the same way: this loop
decides revisions and traffic; the kubelet (:mod:`kserve_local.kubelet`) runs the replicas and
tells this loop when one answers or dies (:class:`Hooks`); the autoscaler
(:mod:`kserve_local.knative.scaler`) and the activator decide how many replicas run; the status
writer (:mod:`kserve_local.kserve.status`) reports. A reconcile that raises is logged, shown as an
event, and retried with back-off: the loop never wedges on one object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import INFERENCESERVICES, SCALEDOBJECTS
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Faults
from kserve_local.generative import standins
from kserve_local.images import images
from kserve_local.keda.operator import Keda
from kserve_local.keda.operator import Target as KedaTarget
from kserve_local.knative.activator import Activator
from kserve_local.knative.autoscaler import Hpa, Kpa, Scaling
from kserve_local.knative.revision import Revision
from kserve_local.knative.scaler import Scaler
from kserve_local.knative.traffic import Target, settle
from kserve_local.kserve import keda, runtimes
from kserve_local.kserve.config import Mode, Settings
from kserve_local.kserve.pod_metadata import pod_annotations
from kserve_local.kserve.runtimes import NoRuntime
from kserve_local.kserve.service import Service, revision_template
from kserve_local.kserve.status import StatusWriter
from kserve_local.kserve.storage import StorageError, StorageMap
from kserve_local.kubelet import Kubelet, Launch, PodOwner, Replica
from kserve_local.timeouts import MODEL_SERVER_STARTUP_S, RECONCILE_BACKOFF_MAX_S, RECONCILE_BACKOFF_S

log = logging.getLogger(__name__)

FINALIZER = "inferenceservice.finalizers"


class Controller:
    """Watches InferenceServices in the store and keeps their revisions serving and scaled."""

    def __init__(
        self,
        store: Store,
        storage: StorageMap,
        state_dir: Path,
        faults: Faults,
        on_routes: Callable[[], None],
        hpa_downscale_stabilization_s: float = 300.0,
    ) -> None:
        self.store, self.storage, self.faults, self.on_routes = store, storage, faults, on_routes
        self.hpa_downscale_stabilization_s = hpa_downscale_stabilization_s
        self.events = Recorder(store)
        self.kubelet = Kubelet(store, state_dir, faults, self.events)
        self.kubelet.hooks = Hooks(self)
        self.status = StatusWriter(store, faults, self.events)
        self.activator = Activator(store, self.kubelet, faults)
        self.scaler = Scaler(store, self.kubelet, self.events, faults, self.routed_revisions)
        self.keda = Keda(store, self.events, faults, self.keda_target, hpa_downscale_stabilization_s)
        self.services: dict[tuple[str, str], Service] = {}
        self.attempted: dict[tuple[str, str], int] = {}
        self._failures: dict[tuple[str, str], int] = {}

    def routed_revisions(self) -> Iterator[Revision]:
        for service in list(self.services.values()):
            for _, revision in service.routed():
                yield revision

    async def run(self) -> None:
        autoscaler = asyncio.get_running_loop().create_task(self.scaler.run())
        keda_operator = asyncio.get_running_loop().create_task(self.keda.run())
        try:
            async for event in self.store.watch(INFERENCESERVICES, since=None):
                await self._reconcile_safely(event.object)
        finally:
            autoscaler.cancel()
            keda_operator.cancel()

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
            await self.events.record(
                isvc, "Warning", "InternalError", f"reconcile failed: {err}; retrying in {delay:g}s"
            )
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
        service = self.services.get((namespace, name))
        if service is None:
            mode = Settings.read(self.store).mode_of(current["metadata"].get("annotations"))
            service = self.services[(namespace, name)] = Service(namespace, name, mode)
        latest = service.latest_created
        if latest is None or latest.template != revision_template(current):
            await self._create_revision(current, service)
        elif service.latest_ready is latest:
            await self._route(current, service)  # canaryTrafficPercent alone: traffic moves, no revision
            await self.status.ready(current, service)
        # else: the latest revision is still starting; it routes and writes status when it answers

    # --- revisions ---------------------------------------------------------------------------
    async def _create_revision(self, isvc: Obj, service: Service) -> None:
        meta = isvc["metadata"]
        predictor_spec = isvc["spec"].get("predictor", {})
        model, _ = runtimes.model_spec(isvc)
        try:
            selected = runtimes.select(self.store, isvc)
            model_dir, notes = await self._storage_initializer(isvc, selected, model.get("storageUri", ""))
        except NoRuntime as err:
            await self.status.failed(isvc, service, err.reason, err.message)
            return
        except StorageError as err:
            await self.status.failed(isvc, service, "ModelLoadFailed", f"storage initializer: {err}")
            return
        options = runtimes.server_options(selected.args)
        if options.get("workers", "1") != "1":
            # KServe's multiprocess REST server respawns its spawned workers in a loop here, so the
            # argument is refused in the open rather than served with one worker in silence.
            await self.status.failed(
                isvc,
                service,
                "UnsupportedArgument",
                f"--workers={options['workers']}: the local target runs one model-server worker per replica",
            )
            return
        env = selected.env + tuple((e["name"], str(e.get("value", ""))) for e in model.get("env") or [] if "name" in e)
        launch = Launch(
            model_name=options.get("model_name") or meta["name"],
            model_dir=model_dir,
            protocol=model.get("protocolVersion", "v1"),
            runtime=selected.name,
            args=selected.args,
            env=env,
            h2c=any(p.get("name") == "h2c" for p in model.get("ports") or []),
            image=selected.image,
            command=selected.command,
            readiness_path=selected.readiness_path,
            notes=notes,
            annotations=tuple(
                pod_annotations(
                    dict(selected.annotations),
                    meta.get("annotations") or {},
                    predictor_spec.get("annotations") or {},
                    dict(Settings.read(self.store).metrics_aggregator),
                    self.faults,
                ).items()
            ),
        )
        standard = service.mode is not Mode.KNATIVE
        scaling = Scaling.of(predictor_spec, model, meta.get("annotations") or {}, standard)
        revision = Revision(
            meta["name"], meta["namespace"], service.next_number, revision_template(isvc), launch, scaling
        )
        with_keda = keda.uses_keda(service.mode, meta.get("annotations"))
        if not with_keda:
            revision.autoscaler = Hpa(scaling, self.hpa_downscale_stabilization_s) if standard else Kpa(scaling)
        await self._scaled_object(isvc, with_keda)  # KEDA scales it; else no ScaledObject may linger
        revision.activator = self.activator.activate
        service.next_number += 1
        superseded = service.latest_created
        service.revisions[revision.name] = revision
        service.latest_created = revision
        if superseded is not None and not superseded.ever_ready:
            await self._retire(isvc, service, superseded)  # a newer spec while it was still starting
        await self.status.progressing(isvc, service)
        # Knative's initial scale is 1 (min-scale if higher) even for a revision that may scale to zero.
        await self.kubelet.scale(isvc, revision, max(1, scaling.min_replicas))

    async def _storage_initializer(
        self, isvc: Obj, selected: runtimes.Selected, uri: str
    ) -> tuple[Path | None, tuple[str, ...]]:
        """The model's local directory, as KServe's storage initializer fills /mnt/models, and
        what stand-ins it used.

        A generative runtime may have no storageUri (the Hugging Face server takes ``--model_id``);
        a hub model the tiny model stands in for (as a storageUri or a model argument) is said so in
        an Event, and in the pod's log."""
        generative = images()[selected.image].generative
        notes: list[str] = []
        model_dir: Path | None = None
        mirrored = bool(uri) and self.storage.rewrite(uri) != uri  # --storage-uri-map wins over a stand-in
        for ref in [uri, *runtimes.model_refs(selected.args)] if generative else []:
            standin = standins.lookup(ref) if ref and not (ref == uri and mirrored) else None
            if standin is not None:
                notes.append(standin.announcement(standins.model_dir()))
                await self.events.record(isvc, "Normal", "StandInModel", notes[-1])
                if ref == uri:
                    model_dir = standins.model_dir()  # built by the kubelet's pull, before the container starts
        if model_dir is None and (uri or not generative):
            model_dir = self.storage.resolve(uri)
        return model_dir, tuple(notes)

    async def revision_ready(self, isvc: Obj, service: Service, revision: Revision) -> None:
        """The first replica of a revision answers: it becomes the latest ready one, traffic moves."""
        revision.ever_ready = True
        if service.latest_created is not revision:
            await self._retire(isvc, service, revision)  # superseded while starting
            return
        service.latest_ready = revision
        await self._route(isvc, service)
        await self.status.ready(isvc, service)

    async def _route(self, isvc: Obj, service: Service) -> None:
        """Traffic from KServe's rules; revisions no longer routed scale to zero (Standard: go)."""
        ready = service.latest_ready
        if ready is None:
            return
        where = self.status.where(isvc, service)
        hosts = (where.host, where.predictor_host)
        if service.mode is Mode.KNATIVE:
            canary = isvc["spec"].get("predictor", {}).get("canaryTrafficPercent")
            created = service.latest_created.name if service.latest_created else ready.name
            service.traffic, service.rollout = settle(canary, ready.name, created, service.rollout)
        else:
            service.traffic = [Target(ready.name, 100, True)]
        routed = {t.revision for t in service.traffic}
        for revision in service.revisions.values():
            revision.hosts, revision.path_prefix = (hosts, where.path_prefix) if revision.name in routed else ((), "")
        self.on_routes()
        for revision in list(service.revisions.values()):
            if revision.name in routed:
                if not revision.replicas and revision.scaling.min_replicas > 0:
                    await self.kubelet.scale(isvc, revision, revision.scaling.min_replicas)  # routed again
            elif revision is not service.latest_created:
                await self._retire(isvc, service, revision, keep=service.mode is Mode.KNATIVE)

    async def _retire(self, isvc: Obj, service: Service, revision: Revision, keep: bool = False) -> None:
        """A revision scaled to zero (Knative keeps it for a rollback) or the old ReplicaSet gone."""
        had = bool(revision.replicas)
        await self.kubelet.scale(isvc, revision, 0)
        if not keep:
            service.revisions.pop(revision.name, None)
        if had:
            await self.events.record(isvc, "Normal", "RevisionRetired", f"revision {revision.name} scaled to zero")

    # --- KEDA ---------------------------------------------------------------------------------
    async def _scaled_object(self, isvc: Obj, wanted: bool) -> None:
        """Create or update the ScaledObject KServe writes for a keda predictor, or delete a stale one."""
        meta = isvc["metadata"]
        name = keda.scaled_object_name(meta["name"])
        existing = self.store.find(SCALEDOBJECTS, meta["namespace"], name)
        if not wanted:
            if existing is not None:
                await self.store.delete(SCALEDOBJECTS, meta["namespace"], name)
            return
        desired = keda.scaled_object(isvc)
        if existing is None:
            await self.store.create(SCALEDOBJECTS, meta["namespace"], desired)
        elif existing.get("spec") != desired["spec"]:
            await self.store.replace(SCALEDOBJECTS, meta["namespace"], name, {**existing, "spec": desired["spec"]})

    def keda_target(self, namespace: str, deployment: str) -> KedaTarget | None:
        """The predictor Deployment a ScaledObject names: its serving revision's replicas."""
        for service in list(self.services.values()):
            if service.namespace != namespace or keda.scaled_object_name(service.name) != deployment:
                continue
            revision = service.latest_ready
            isvc = self.store.find(INFERENCESERVICES, namespace, service.name)
            if revision is None or isvc is None or revision.autoscaler is not None:
                return None  # not serving yet, or not a keda predictor

            async def scale(replicas: int, isvc: Obj = isvc, revision: Revision = revision) -> None:
                await self.events.record(
                    isvc,
                    "Normal",
                    "Scaled",
                    f"revision {revision.name} scaled from {len(revision.replicas)} to {replicas} replicas (KEDA)",
                )
                await self.kubelet.scale(isvc, revision, replicas)

            return KedaTarget(len(revision.replicas), scale)
        return None

    # --- endings -----------------------------------------------------------------------------
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
            await asyncio.gather(*(self.kubelet.remove(rev, r) for rev, r in replicas))
        await self.kubelet.delete_pods(meta["namespace"], meta["name"])
        await self._scaled_object(isvc, wanted=False)  # owned by the InferenceService: collected with it
        latest = self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"])
        if latest is not None and FINALIZER in latest["metadata"].get("finalizers", []):
            latest["metadata"]["finalizers"] = [f for f in latest["metadata"]["finalizers"] if f != FINALIZER]
            await self.store.replace(INFERENCESERVICES, meta["namespace"], meta["name"], latest)

    async def shutdown(self) -> None:
        replicas = [r for s in self.services.values() for rev in s.revisions.values() for r in rev.replicas]
        self.services = {}
        await self.kubelet.stop_all(replicas)

    def pod_log(self, namespace: str, pod_name: str) -> Path | None:
        return self.kubelet.pod_log(namespace, pod_name)


class Hooks:
    """What a pod's life means for its InferenceService: the kubelet calls these (see ``kubelet.Hooks``)."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def _service(self, owner: PodOwner) -> tuple[Service, Revision] | None:
        service = self.controller.services.get((owner.namespace, owner.isvc))
        if service is None or not isinstance(owner, Revision):  # the controller's pods are its revisions'
            return None
        return service, owner

    def routes_changed(self) -> None:
        self.controller.on_routes()

    def owns(self, owner: PodOwner) -> bool:
        return (owner.namespace, owner.isvc) in self.controller.services

    def current(self, isvc: Obj) -> Obj:
        return self.controller.status.current(isvc)

    async def replica_ready(self, isvc: Obj, owner: PodOwner, replica: Replica) -> None:
        found = self._service(owner)
        if found is None:
            return
        service, revision = found
        if not revision.ever_ready:
            await self.controller.revision_ready(self.current(isvc), service, revision)
        elif service.degraded and service.latest_ready is revision:
            await self.controller.status.ready(self.current(isvc), service)

    async def replica_exited(self, isvc: Obj, owner: PodOwner, was_ready: bool, code: int | None, tail: str) -> None:
        found = self._service(owner)
        if found is None:
            return
        service, revision = found
        if not revision.ready_replicas() and (service.latest_ready is revision or not revision.ever_ready):
            reason = "ModelServerCrashed" if was_ready else "ModelLoadFailed"
            service.degraded = was_ready
            await self.controller.status.failed(
                self.current(isvc), service, reason, f"model server exited with code {code}: {tail}"
            )

    async def start_timed_out(self, isvc: Obj, owner: PodOwner) -> None:
        found = self._service(owner)
        if found is not None and not found[1].ever_ready:
            await self.controller.status.failed(
                isvc,
                found[0],
                "ProgressDeadlineExceeded",
                f"model server did not answer within {MODEL_SERVER_STARTUP_S:.0f}s",
            )
