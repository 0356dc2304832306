"""Turns each InferenceService into a real KServe model-server process, and reports like KServe.

The status it writes follows KServe's controller: the ``PredictorReady``, ``IngressReady`` and
``Ready`` conditions move from Unknown to True (or False with a reason), ``status.url`` and
``status.address.url`` follow the deployment mode and the configured templates, and
``observedGeneration`` tracks the spec it acted on. A pod object, events and the model server's
log (served as the pod's log) give diagnostics the same shape as on a real cluster.

A spec change is a rollout, as on KServe: the running predictor keeps serving while the new one
starts (Knative: a new revision, ``latestCreatedRevision`` ahead of ``latestReadyRevision`` and
traffic still on the old one; Standard: a rolling update), and traffic moves only once the new
one answers. A model server that dies is restarted with a back-off, as a kubelet restarts a
container (its pod shows the restart count; Ready goes False, then True; events say so). A
reconcile that raises is logged, shown as an event, and retried with back-off: the loop never
wedges on one object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from kserve_conformance.local import runtimes
from kserve_conformance.local.resources import INFERENCESERVICES, RESOURCES
from kserve_conformance.local.runtimes import IMAGE, NoRuntime
from kserve_conformance.local.storage import StorageError, StorageMap
from kserve_conformance.local.store import Obj, Store, now
from kserve_conformance.timeouts import DEFAULT
from kserve_conformance.urls import KNATIVE, IngressConfig, expected_urls, service_mode

log = logging.getLogger(__name__)

PODS = next(r for r in RESOURCES if r.plural == "pods")
EVENTS = next(r for r in RESOURCES if r.plural == "events")
FINALIZER = "inferenceservice.finalizers"
KNATIVE_CONDITIONS = ("RoutesReady", "LatestDeploymentReady", "PredictorRouteReady", "PredictorConfigurationReady")
MODEL_SERVER_STARTUP_S = DEFAULT.model_server_startup_s
# A kubelet's CrashLoopBackOff starts at 10 s and doubles to 5 min; the local target starts at 1 s
# so that a self-test sees a restart in seconds, and caps at 30 s.
RESTART_BACKOFF_S, RESTART_BACKOFF_MAX_S = 1.0, 30.0
RECONCILE_BACKOFF_S, RECONCILE_BACKOFF_MAX_S = 0.5, 60.0
# Faults the model server itself implements (see kserve_conformance.local.modelserver).
MODEL_SERVER_FAULTS = {"wrong-prediction", "model-not-ready", "server-error"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Predictor:
    """One running model-server process and where the gateway should send its traffic."""

    name: str
    namespace: str
    generation: int
    http_port: int
    grpc_port: int
    process: asyncio.subprocess.Process
    log_path: Path
    model_name: str = ""
    h2c: bool = False  # the spec declares an h2c port: gRPC is routed through the ingress, as on Knative
    hosts: tuple[str, ...] = ()
    path_prefix: str = ""
    restarts: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def revision(self) -> str:
        return f"{self.name}-predictor-{self.generation:05d}"

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name


class Reconciler:
    """Watches InferenceServices in the store and keeps one serving model server per service."""

    def __init__(self, store: Store, config: IngressConfig, storage: StorageMap, state_dir: Path,
                 faults: dict[str, str], on_routes: Callable[[], None]) -> None:
        self.store, self.config, self.storage = store, config, storage
        self.state_dir, self.faults, self.on_routes = state_dir, faults, on_routes
        self.predictors: dict[tuple[str, str], Predictor] = {}  # serving: the gateway routes to these
        self.starting: dict[tuple[str, str], Predictor] = {}  # the next revision, until it answers
        self.attempted: dict[tuple[str, str], int] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._event_count = 0

    async def run(self) -> None:
        async for event in self.store.watch(INFERENCESERVICES, since=None):
            await self._reconcile_safely(event.object)

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
        superseded = self.starting.pop((namespace, name), None)
        if superseded is not None:
            await self._retire(current, superseded)
        await self._start(current)

    # --- lifecycle ---------------------------------------------------------------------------
    async def _start(self, isvc: Obj, restarts: int = 0) -> None:
        meta = isvc["metadata"]
        name, namespace, generation = meta["name"], meta["namespace"], meta["generation"]
        serving = self.predictors.get((namespace, name))
        model, _ = runtimes.model_spec(isvc)
        try:
            selected = runtimes.select(self.store, isvc)
            model_dir = self.storage.resolve(model.get("storageUri", ""))
        except NoRuntime as err:
            await self._fail(isvc, err.reason, err.message)
            return
        except StorageError as err:
            await self._fail(isvc, "ModelLoadFailed", f"storage initializer: {err}")
            return
        options = runtimes.server_options(selected.args)
        if options.get("workers", "1") != "1":
            # KServe's multiprocess REST server respawns its spawned workers in a loop here, so the
            # argument is refused in the open rather than served with one worker in silence.
            await self._fail(isvc, "UnsupportedArgument", f"--workers={options['workers']}: the local target runs "
                                                          "one model-server worker per predictor")
            return
        model_name = options.get("model_name") or name
        protocol = model.get("protocolVersion", "v1")
        if restarts == 0:
            await self._set_status(isvc, predictor=("Unknown", "Reconciling", "model server is starting"),
                                   ingress=("True", "", "") if serving else
                                   ("Unknown", "Reconciling", "waiting for the predictor"),
                                   components=self._components(isvc, serving, latest_created=generation))
        log_path = self.state_dir / "logs" / f"{namespace}.{name}.{generation}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        http_port, grpc_port = free_port(), free_port()
        args = [sys.executable, "-m", "kserve_conformance.local.modelserver", "--model-name", model_name,
                "--model-dir", str(model_dir), "--http-port", str(http_port), "--grpc-port", str(grpc_port)]
        for fault in sorted(self.faults.keys() & MODEL_SERVER_FAULTS):
            args += ["--fault", fault]
        with log_path.open("ab") as out:
            process = await asyncio.create_subprocess_exec(*args, stdout=out, stderr=out)
        h2c = any(port.get("name") == "h2c" for port in model.get("ports") or [])
        predictor = Predictor(name, namespace, generation, http_port, grpc_port, process, log_path,
                              model_name=model_name, h2c=h2c, restarts=restarts)
        self.starting[(namespace, name)] = predictor
        await self._write_pod(isvc, predictor, phase="Pending", ready=False, args=selected.args)
        verb = "restarted" if restarts else "started"
        await self._event(isvc, "Normal", "ModelServerStarted",
                          f"{verb} model server for {name} ({protocol}, runtime {selected.name}, revision "
                          f"{predictor.revision}) on port {http_port}")
        predictor.task = asyncio.get_running_loop().create_task(self._run(isvc, predictor, protocol))

    async def _run(self, isvc: Obj, predictor: Predictor, protocol: str) -> None:
        """Wait until the model server answers, move traffic to it, then watch it until it exits."""
        base = f"http://127.0.0.1:{predictor.http_port}"
        probe = (f"{base}/v2/models/{predictor.model_name}/ready" if protocol == "v2"
                 else f"{base}/v1/models/{predictor.model_name}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MODEL_SERVER_STARTUP_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while loop.time() < deadline:
                if predictor.process.returncode is not None:
                    await self._crashed(isvc, predictor)
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
                await self._fail(isvc, "ProgressDeadlineExceeded",
                                 f"model server did not answer within {MODEL_SERVER_STARTUP_S:.0f}s")
                return
        if self.starting.get(predictor.key) is not predictor:
            return  # superseded by a newer spec while starting
        await self._became_ready(isvc, predictor)
        await predictor.process.wait()
        if self.predictors.get(predictor.key) is predictor:
            await self._crashed(isvc, predictor)

    async def _became_ready(self, isvc: Obj, predictor: Predictor) -> None:
        """Traffic moves to the new revision; the previous one is retired only after that."""
        meta = isvc["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        mode = service_mode(meta.get("annotations"), self.config)
        urls = expected_urls(name, namespace, mode, self.config, meta.get("annotations"), meta.get("labels"))
        url, host = urls.url, urls.host
        if "wrong-url-host" in self.faults:  # the other mode's format: the kserve#3956 mix-up
            other = "Standard" if mode == KNATIVE else KNATIVE
            url = expected_urls(name, namespace, other, self.config).url
        predictor.hosts = (host, self._predictor_host(name, namespace, mode))
        predictor.path_prefix = urls.path_prefix
        self.starting.pop(predictor.key, None)
        previous = self.predictors.get(predictor.key)
        self.predictors[predictor.key] = predictor
        self.on_routes()
        await self._write_pod(isvc, predictor, phase="Running", ready=True)
        if previous is not None and previous is not predictor:
            await self._retire(isvc, previous)
        ingress: tuple[str, str, str] = ("True", "", "")
        if "never-ready" in self.faults:
            ingress = ("False", "IngressNotConfigured", "fault injected: ingress never becomes ready")
        address = urls.address_url
        if "wrong-address" in self.faults:
            address = address.replace(f".{namespace}.", ".default.")
        await self._set_status(isvc, predictor=("True", "", ""), ingress=ingress, url=url, address=address,
                               components=self._components(isvc, predictor), loaded=True)
        if ingress[0] == "True":
            await self._event(isvc, "Normal", "InferenceServiceReady", f"InferenceService [{name}] is Ready")

    def _components(self, isvc: Obj, serving: Predictor | None,
                    latest_created: int | None = None) -> dict[str, Any] | None:
        """``status.components.predictor`` as KServe writes it from the Knative Service (or Deployment)."""
        if serving is None:
            return None
        meta = isvc["metadata"]
        mode = service_mode(meta.get("annotations"), self.config)
        scheme = "https" if self.config.url_scheme == "https" else "http"
        created = f"{meta['name']}-predictor-{latest_created:05d}" if latest_created else serving.revision
        predictor: dict[str, Any] = {"url": f"{scheme}://{self._predictor_host(meta['name'], meta['namespace'], mode)}",
                                     "latestCreatedRevision": created, "latestReadyRevision": serving.revision}
        if mode == KNATIVE:
            latest = created == serving.revision
            traffic = [{"revisionName": serving.revision, "percent": 100, "latestRevision": latest}]
            if "split-traffic" in self.faults:
                traffic = [{**traffic[0], "percent": 90},
                           {"revisionName": f"{meta['name']}-predictor-00000", "percent": 10, "latestRevision": False}]
            predictor["traffic"] = traffic
        return {"predictor": predictor}

    def _predictor_host(self, name: str, namespace: str, mode: str) -> str:
        if mode == KNATIVE:
            return f"{name}-predictor.{namespace}.{self.config.knative_domain}"
        return f"{name}-predictor-{namespace}.{self.config.ingress_domain}"

    async def _crashed(self, isvc: Obj, predictor: Predictor) -> None:
        """The container exited: its pod says so, traffic stops, and a kubelet-style restart follows."""
        tail = predictor.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        was_serving = self.predictors.get(predictor.key) is predictor
        if was_serving:
            self.predictors.pop(predictor.key)
            self.on_routes()
        elif self.starting.get(predictor.key) is predictor:
            self.starting.pop(predictor.key)
        else:
            return  # retired on purpose
        code = predictor.process.returncode
        await self._write_pod(isvc, predictor, phase="Running", ready=False, exit_code=code)
        reason = "ModelServerCrashed" if was_serving else "ModelLoadFailed"
        await self._fail(isvc, reason, f"model server exited with code {code}: {tail[0]}")
        delay = min(RESTART_BACKOFF_S * 2 ** predictor.restarts, RESTART_BACKOFF_MAX_S)
        await self._event(isvc, "Warning", "BackOff", f"Back-off {delay:g}s restarting failed container "
                                                      f"kserve-container in pod {predictor.revision}")
        await asyncio.sleep(delay)
        latest = self.store.find(INFERENCESERVICES, predictor.namespace, predictor.name)
        if latest is None or latest["metadata"].get("deletionTimestamp") \
                or latest["metadata"]["generation"] != predictor.generation or predictor.key in self.starting:
            return  # deleted or superseded while backing off
        await self._start(latest, restarts=predictor.restarts + 1)

    async def _retire(self, isvc: Obj, predictor: Predictor) -> None:
        """An old revision scaled to zero (Knative) or the old ReplicaSet scaled down (Standard)."""
        await self._stop(predictor)
        with contextlib.suppress(Exception):
            await self.store.delete(PODS, predictor.namespace, predictor.revision)
        await self._event(isvc, "Normal", "RevisionRetired", f"revision {predictor.revision} scaled to zero")

    async def _fail(self, isvc: Obj, reason: str, message: str) -> None:
        """The new spec cannot be served; a previous revision that still serves keeps its route."""
        serving = (isvc["metadata"]["namespace"], isvc["metadata"]["name"]) in self.predictors
        await self._set_status(isvc, predictor=("False", reason, message),
                               ingress=("True", "", "") if serving else
                               ("False", "PredictorNotReady", "the predictor is not ready"),
                               loaded=False, failure=(reason, message))
        await self._event(isvc, "Warning", "InternalError", message)

    async def _finalize(self, isvc: Obj) -> None:
        meta = isvc["metadata"]
        self.attempted.pop((meta["namespace"], meta["name"]), None)
        predictor = self.predictors.pop((meta["namespace"], meta["name"]), None)
        if predictor is not None:
            await self._stop(predictor)
            self.on_routes()
        starting = self.starting.pop((meta["namespace"], meta["name"]), None)
        if starting is not None:
            await self._stop(starting)
        for pod in self.store.list(PODS, meta["namespace"], _owned_by(meta["name"])):
            with contextlib.suppress(Exception):
                await self.store.delete(PODS, meta["namespace"], pod["metadata"]["name"])
        latest = self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"])
        if latest is not None and FINALIZER in latest["metadata"].get("finalizers", []):
            latest["metadata"]["finalizers"] = [f for f in latest["metadata"]["finalizers"] if f != FINALIZER]
            await self.store.replace(INFERENCESERVICES, meta["namespace"], meta["name"], latest)

    async def _stop(self, predictor: Predictor) -> None:
        if predictor.task is not None:
            predictor.task.cancel()
        await stop_process(predictor.process)

    async def shutdown(self) -> None:
        predictors = [*self.predictors.values(), *self.starting.values()]
        self.predictors, self.starting = {}, {}
        await asyncio.gather(*(self._stop(p) for p in predictors))

    # --- status and diagnostics objects -------------------------------------------------------
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

    async def _write_pod(self, isvc: Obj, predictor: Predictor, phase: str, ready: bool,
                         args: tuple[str, ...] = (), exit_code: int | None = None) -> None:
        pod_name = predictor.revision
        existing = self.store.find(PODS, predictor.namespace, pod_name)
        pod = existing or {"metadata": {
            "name": pod_name, "namespace": predictor.namespace,
            "labels": {"serving.kserve.io/inferenceservice": predictor.name, "component": "predictor",
                       "serving.knative.dev/revision": predictor.revision},
            "ownerReferences": [{"apiVersion": INFERENCESERVICES.api_version, "kind": "InferenceService",
                                 "name": predictor.name, "uid": isvc["metadata"]["uid"]}]},
            "spec": {"containers": [{"name": "kserve-container", "image": IMAGE, "args": list(args),
                                     "ports": [{"name": "http", "containerPort": predictor.http_port},
                                               {"name": "grpc", "containerPort": predictor.grpc_port}]}]}}
        if existing is None:
            pod = await self.store.create(PODS, predictor.namespace, pod)
        else:  # a restart: the kubelet keeps the pod, the new container listens on new ports here
            pod["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": predictor.http_port},
                                                     {"name": "grpc", "containerPort": predictor.grpc_port}]
            pod = await self.store.replace(PODS, predictor.namespace, pod_name, pod)
        state: dict[str, Any] = ({"terminated": {"exitCode": exit_code, "reason": "Error", "finishedAt": now()}}
                                 if exit_code is not None else
                                 {"running": {"startedAt": now()}} if phase == "Running" else
                                 {"waiting": {"reason": "ContainerCreating"}})
        restarts = predictor.restarts + (1 if exit_code is not None else 0)
        pod["status"] = {"phase": phase, "podIP": "127.0.0.1", "containerStatuses": [
            {"name": "kserve-container", "image": IMAGE, "imageID": IMAGE, "ready": ready, "restartCount": restarts,
             "started": phase == "Running" and exit_code is None, "state": state}]}
        await self.store.replace(PODS, predictor.namespace, pod_name, pod, "status")

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
        for predictor in self.predictors.values():
            if predictor.namespace == namespace and pod_name.startswith(f"{predictor.name}-predictor-"):
                return predictor.log_path
        matches = sorted((self.state_dir / "logs").glob(f"{namespace}.{pod_name.split('-predictor-')[0]}.*.log"))
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
