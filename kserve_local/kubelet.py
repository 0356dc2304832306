"""The kubelet's part: each replica is a real model-server process with its Pod object.

A replica starts as a process (``python -m kserve_local.models.modelserver``), its pod is
``Pending`` until the model server answers its probe, then ``Running`` and ``Ready``. A process
that exits makes the pod show the terminated container and its ``restartCount``; the kubelet
backs off (from 1 s, doubling to 30 s here; 10 s to 5 min on a real node), says so in a
``BackOff`` event, and starts it again in the same pod. The model servers' output is the pods'
log (``kubectl logs``), and their CPU is what a metrics-server would report for the HPA.

Scaling a set of pods up and down (the ReplicaSet's job) is here too: removed replicas leave
routing first, finish their requests in flight, then stop.

What owns the pods (a Knative revision, or the Deployment's ReplicaSet in Standard mode) and what
a pod's readiness or crash means for the InferenceService are the controller's: it is reached
through :class:`Hooks`. May import :mod:`kserve_local.apiserver`, :mod:`kserve_local.faults`,
:mod:`kserve_local.images`, :mod:`kserve_local.generative` (its target-side modules) and
:mod:`kserve_local.timeouts`; nothing of ``kserve``, ``knative`` or ``ingress``.

A generative image's container is the runtime's own command line run with the generative venv's
python (``kserve_local.generative.env``): before its first container starts, the kubelet "pulls"
the image (builds the venv if the suite's provider has not, with ``Pulling``/``Pulled`` events),
gives each pod its own ``HF_HOME``/``VLLM_CONFIG_ROOT`` and port, and points ``/mnt/models`` at
the storage initializer's directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psutil

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import INFERENCESERVICES, RESOURCES
from kserve_local.apiserver.store import Obj, Store, now
from kserve_local.faults import Component, Fault, Faults
from kserve_local.generative import env as generative_env
from kserve_local.generative import standins
from kserve_local.images import MOUNT, flag_values, images, set_flag
from kserve_local.timeouts import (
    DRAIN_S,
    GENERATIVE_SERVER_STARTUP_S,
    MODEL_SERVER_STARTUP_S,
    PROBE_S,
    PROCESS_STOP_GRACE_S,
    RESTART_BACKOFF_MAX_S,
    RESTART_BACKOFF_S,
)

PODS = next(r for r in RESOURCES if r.plural == "pods")
IMAGE = "kserve-conformance/local-modelserver"  # the scikit-learn model server's image
MODEL_SERVER = "kserve_local.models.modelserver"
VLLM_SERVER, VLLM_METRICS_FAULT = "vllm.entrypoints.openai.api_server", "kserve_local.generative.vllm_metrics_fault"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
# Pod annotations that name a container port, and the port KServe's runtimes' containers serve HTTP on.
PORT_ANNOTATIONS, CONTAINER_HTTP_PORT = ("prometheus.kserve.io/port", "prometheus.io/port"), "8080"
POD_SUFFIX_ALPHABET = "".join(c for c in string.ascii_lowercase + string.digits if c not in "aeiou013")


def pod_suffix(length: int = 5) -> str:
    """As the ReplicaSet controller names pods: letters and digits that do not spell words."""
    return "".join(random.choice(POD_SUFFIX_ALPHABET) for _ in range(length))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Launch:
    """How every replica of a revision runs its model server (the pod template's container)."""

    model_name: str
    model_dir: Path | None  # the storage initializer's directory; None without a storageUri
    protocol: str
    runtime: str
    args: tuple[str, ...]  # the runtime's then the predictor's, as the pod spec shows them
    env: tuple[tuple[str, str], ...] = ()  # the runtime container's, then the predictor's
    h2c: bool = False  # the spec declares an h2c port: gRPC is routed through the ingress, as on Knative
    image: str = IMAGE
    command: tuple[str, ...] = ()  # the runtime container's command; empty: the image's entrypoint
    readiness_path: str | None = None  # the runtime's readinessProbe path; None: what the image answers
    notes: tuple[str, ...] = ()  # what the storage initializer did (stand-ins), for the pod's log
    annotations: tuple[tuple[str, str], ...] = ()  # the pod template's, as KServe's controller and mutator write them

    @property
    def generative(self) -> bool:
        return images()[self.image].generative


@dataclass(eq=False)
class Replica:
    """One model-server process and its pod."""

    pod_name: str
    http_port: int
    grpc_port: int
    process: asyncio.subprocess.Process
    log_path: Path
    restarts: int = 0
    ready: bool = False
    inflight: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    cpu: psutil.Process | None = field(default=None, repr=False)  # its CPU meter, for the HPA


class PodOwner(Protocol):
    """What owns a set of pods: one revision of one InferenceService's predictor."""

    isvc: str
    namespace: str
    launch: Launch
    replicas: list[Replica]

    @property
    def name(self) -> str: ...

    async def changed(self) -> None: ...


class Hooks(Protocol):
    """What the controller makes of a pod's life."""

    def routes_changed(self) -> None: ...

    def owns(self, owner: PodOwner) -> bool:
        """Whether the owner's InferenceService is still reconciled (not deleted)."""
        ...

    def current(self, isvc: Obj) -> Obj:
        """The InferenceService as stored now."""
        ...

    async def replica_ready(self, isvc: Obj, owner: PodOwner, replica: Replica) -> None: ...

    async def replica_exited(
        self, isvc: Obj, owner: PodOwner, was_ready: bool, code: int | None, tail: str
    ) -> None: ...

    async def start_timed_out(self, isvc: Obj, owner: PodOwner) -> None: ...


async def stop_process(process: asyncio.subprocess.Process, grace_s: float = PROCESS_STOP_GRACE_S) -> None:
    """SIGTERM, then SIGKILL if it lingers: nothing may outlive the target, nor its children (vLLM's
    engine core is a process of its own, which a SIGKILLed API server leaves behind)."""
    if process.returncode is not None:
        return
    children: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        children = psutil.Process(process.pid).children(recursive=True)
    await _stop(process, grace_s)
    alive = [c for c in children if c.is_running()]
    if alive:
        _, alive = await asyncio.to_thread(psutil.wait_procs, alive, grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


async def _stop(process: asyncio.subprocess.Process, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def renumbered(annotations: dict[str, str], http_port: int) -> dict[str, str]:
    """Port annotations that name the container's HTTP port (8080, where KServe's runtimes serve
    their metrics) renumbered to the port this pod's server really listens on, as its
    ``containerPort`` is; any other value is kept (it points at nothing here, as it would there)."""
    return {
        k: str(http_port) if k in PORT_ANNOTATIONS and v == CONTAINER_HTTP_PORT else v for k, v in annotations.items()
    }


def owned_by(name: str) -> Callable[[Obj], bool]:
    return lambda pod: pod["metadata"].get("labels", {}).get(ISVC_LABEL) == name


class Kubelet:
    """Runs, probes, restarts and stops the model-server processes, and keeps their pods' status."""

    container_name = "kserve-container"  # the model server's container, as KServe names it

    def __init__(self, store: Store, state_dir: Path, faults: Faults, events: Recorder) -> None:
        self.store, self.state_dir, self.events = store, state_dir, events
        self.faults = faults
        # Faults the model server implements itself, handed to each process.
        self.model_server_faults = sorted(f.label for f in faults if f.component is Component.MODEL_SERVER)
        self.hooks: Hooks | None = None  # set by the controller that owns the pods

    def _hooks(self) -> Hooks:
        assert self.hooks is not None, "the kubelet runs pods for a controller"
        return self.hooks

    # --- the ReplicaSet's part ---------------------------------------------------------------
    async def scale(self, isvc: Obj, owner: PodOwner, replicas: int) -> None:
        """Start or stop replicas until ``replicas`` run; removed ones drain first."""
        while len(owner.replicas) < replicas:
            await self.start(isvc, owner)
        extra = owner.replicas[replicas:]
        if not extra:
            return
        # Newest and not-yet-ready first, as a ReplicaSet scales down.
        victims = sorted(owner.replicas, key=lambda r: (r.ready, -owner.replicas.index(r)))[: len(extra)]
        for replica in victims:
            owner.replicas.remove(replica)
            replica.ready = False
        self._hooks().routes_changed()
        await owner.changed()
        await asyncio.gather(*(self.remove(owner, r) for r in victims))

    async def remove(self, owner: PodOwner, replica: Replica) -> None:
        """Stop a replica already out of routing, once its requests in flight are answered; its pod goes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while replica.inflight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if replica.task is not None:
            replica.task.cancel()
        await stop_process(replica.process)
        with contextlib.suppress(Exception):
            await self.store.delete(PODS, owner.namespace, replica.pod_name)

    async def delete_pods(self, namespace: str, isvc: str) -> None:
        """The pods an InferenceService still owns, gone (its finalizer runs)."""
        for pod in self.store.list(PODS, namespace, owned_by(isvc)):
            with contextlib.suppress(Exception):
                await self.store.delete(PODS, namespace, pod["metadata"]["name"])

    async def stop_all(self, replicas: list[Replica]) -> None:
        for replica in replicas:
            if replica.task is not None:
                replica.task.cancel()
        await asyncio.gather(*(stop_process(r.process) for r in replicas))

    # --- containers --------------------------------------------------------------------------
    async def start(self, isvc: Obj, owner: PodOwner, restarts: int = 0, replacing: Replica | None = None) -> Replica:
        """A new model-server process; a restart keeps the pod (and its place) of the one it replaces."""
        launch = owner.launch
        pod_name = replacing.pod_name if replacing else self.new_pod_name(owner)
        log_path = self.log_path(owner.namespace, pod_name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        http_port, grpc_port = free_port(), free_port()
        extra_env: dict[str, str] = {}
        if launch.generative:
            python = await self.pull(isvc, launch.image)
            args, extra_env = self.generative_container(launch, pod_name, http_port, grpc_port, python, log_path)
        else:
            assert launch.model_dir is not None, "the controller refuses a sklearn predictor without storage"
            args = self.modelserver_container(launch, http_port, grpc_port)
        with log_path.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *args, stdout=out, stderr=out, env={**os.environ, **dict(launch.env), **extra_env}
            )
        replica = Replica(pod_name, http_port, grpc_port, process, log_path, restarts=restarts)
        if replacing in owner.replicas:
            assert replacing is not None
            owner.replicas[owner.replicas.index(replacing)] = replica
        else:
            owner.replicas.append(replica)
        await self.write_pod(isvc, owner, replica, phase="Pending", ready=False)
        verb = "restarted" if restarts else "started"
        await self.events.record(
            isvc,
            "Normal",
            "ModelServerStarted",
            f"{verb} model server for {owner.isvc} ({launch.protocol}, runtime {launch.runtime}, "
            f"revision {owner.name}, pod {pod_name}) on port {http_port}",
        )
        replica.task = asyncio.get_running_loop().create_task(self._run(isvc, owner, replica))
        return replica

    def new_pod_name(self, owner: PodOwner) -> str:
        """A new pod's name, as its ReplicaSet names it (a Knative revision's Deployment here)."""
        return f"{owner.name}-deployment-{pod_suffix()}"

    def pod_metadata(self, isvc: Obj, owner: PodOwner) -> Obj:
        """A new pod's labels and owner: KServe's predictor labels, owned by the InferenceService."""
        return {
            "labels": {ISVC_LABEL: owner.isvc, "component": "predictor", "serving.knative.dev/revision": owner.name},
            "ownerReferences": [
                {
                    "apiVersion": INFERENCESERVICES.api_version,
                    "kind": "InferenceService",
                    "name": owner.isvc,
                    "uid": isvc["metadata"]["uid"],
                }
            ],
        }

    def modelserver_container(self, launch: Launch, http_port: int, grpc_port: int) -> list[str]:
        """The scikit-learn model server's command line (its flags are its own, not the runtime's)."""
        args = [
            sys.executable,
            "-m",
            MODEL_SERVER,
            "--model-name",
            launch.model_name,
            "--model-dir",
            str(launch.model_dir),
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
        ]
        for fault in self.model_server_faults:
            args += ["--fault", fault]
        return args

    async def pull(self, isvc: Obj, image: str) -> Path:
        """The generative image's python, its venv built first if missing (a kubelet's image pull)."""
        if generative_env.is_built() and standins.is_built():
            await self.events.record(isvc, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            return generative_env.python_of(generative_env.env_dir())
        await self.events.record(
            isvc, "Normal", "Pulling", f'Pulling image "{image}" (building the generative venv, several minutes)'
        )
        loop = asyncio.get_running_loop()
        start = loop.time()

        def build() -> Path:
            python = generative_env.ensure()
            standins.ensure_model(python)
            return python

        python = await asyncio.to_thread(build)
        await self.events.record(
            isvc, "Normal", "Pulled", f'Successfully pulled image "{image}" in {loop.time() - start:.0f}s'
        )
        return python

    def generative_container(
        self, launch: Launch, pod_name: str, http_port: int, grpc_port: int, python: Path, log_path: Path
    ) -> tuple[list[str], dict[str, str]]:
        """The runtime's own command line for this pod, and the environment a container would have."""
        image = images()[launch.image]
        command = list(launch.command or image.entrypoint)
        if command and command[0] in ("python", "python3"):
            command[0] = str(python)
        if Fault.METRICS_TOKEN_UNDERCOUNT in self.faults and command[1:3] == ["-m", VLLM_SERVER]:
            command[2:2] = [VLLM_METRICS_FAULT]  # the same server, its token counter broken
        args = list(launch.args)
        if launch.model_dir is not None:
            args = [a.replace(MOUNT, str(launch.model_dir)) for a in args]
            if image.model_dir_flag and not flag_values(args, image.model_dir_flag):
                args.append(f"{image.model_dir_flag}={launch.model_dir}")
        notes = list(launch.notes)
        for flag in image.model_flags:
            values = flag_values(args, flag)
            standin = standins.lookup(values[-1]) if values else None
            if standin is not None:
                args = set_flag(args, flag, str(standins.model_dir()))
                note = standin.announcement(standins.model_dir())
                notes += [] if note in notes else [note]
        if image.http_port_flag:
            args = set_flag(args, image.http_port_flag, str(http_port))
        if image.grpc_port_flag:
            args = set_flag(args, image.grpc_port_flag, str(grpc_port))
        home = self.state_dir / "pods" / pod_name / "tmp"  # the pod's own /tmp
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "HF_HOME": str(home),
            "VLLM_CONFIG_ROOT": str(home),
            "HF_HUB_OFFLINE": "1",  # no network: a hub download fails at once instead of hanging
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": standins.PACKAGE_ROOT,  # the images' own code (kserve_local.generative)
        }
        with log_path.open("a") as log:
            for note in notes:
                log.write(f"kubelet: {note}\n")
        return [*command, *args], env

    async def _run(self, isvc: Obj, owner: PodOwner, replica: Replica) -> None:
        """Wait until the model server answers, put it in service, then watch it until it exits."""
        hooks = self._hooks()
        base = f"http://127.0.0.1:{replica.http_port}"
        probe = f"{base}{self.probe_path(owner.launch)}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (GENERATIVE_SERVER_STARTUP_S if owner.launch.generative else MODEL_SERVER_STARTUP_S)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_S)) as session:
            while loop.time() < deadline:
                if replica.process.returncode is not None:
                    await self._exited(isvc, owner, replica)
                    return
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(probe) as response:
                        # Liveness, not readiness: a model that loaded but reports not ready is the
                        # model's verdict to surface through the data plane, as a kubelet would only
                        # see a running container.
                        if response.status < 500 or Fault.MODEL_NOT_READY in self.faults:
                            break
                await asyncio.sleep(0.1)
            else:
                await hooks.start_timed_out(isvc, owner)
                return
        if replica not in owner.replicas:
            return  # scaled away while starting
        replica.ready = True
        await self.write_pod(isvc, owner, replica, phase="Running", ready=True)
        hooks.routes_changed()
        await owner.changed()
        await hooks.replica_ready(isvc, owner, replica)
        await replica.process.wait()
        if replica in owner.replicas:
            await self._exited(isvc, owner, replica)

    @staticmethod
    def probe_path(launch: Launch) -> str:
        """The runtime's readinessProbe path if it has one, else what the image's server answers."""
        name = launch.model_name
        if launch.readiness_path:
            return launch.readiness_path
        if images()[launch.image].probe:
            return images()[launch.image].probe.format(name=name)
        return f"/v2/models/{name}/ready" if launch.protocol == "v2" else f"/v1/models/{name}"

    async def _exited(self, isvc: Obj, owner: PodOwner, replica: Replica) -> None:
        """The container exited: its pod says so, traffic stops, and a restart follows after a back-off."""
        hooks = self._hooks()
        if not hooks.owns(owner) or replica not in owner.replicas:
            return  # retired on purpose
        tail = replica.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        was_ready, replica.ready = replica.ready, False
        hooks.routes_changed()
        code = replica.process.returncode
        await self.write_pod(isvc, owner, replica, phase="Running", ready=False, exit_code=code)
        await hooks.replica_exited(isvc, owner, was_ready, code, tail[0])
        delay = min(RESTART_BACKOFF_S * 2**replica.restarts, RESTART_BACKOFF_MAX_S)
        await self.events.record(
            isvc,
            "Warning",
            "BackOff",
            f"Back-off {delay:g}s restarting failed container kserve-container in pod {replica.pod_name}",
        )
        await asyncio.sleep(delay)
        if replica not in owner.replicas or not hooks.owns(owner):
            return  # scaled away or deleted while backing off
        await self.start(hooks.current(isvc), owner, restarts=replica.restarts + 1, replacing=replica)

    # --- pods, logs, metrics ------------------------------------------------------------------
    async def write_pod(
        self, isvc: Obj, owner: PodOwner, replica: Replica, phase: str, ready: bool, exit_code: int | None = None
    ) -> None:
        ports = [
            {"name": "http", "containerPort": replica.http_port},
            {"name": "grpc", "containerPort": replica.grpc_port},
        ]
        existing = self.store.find(PODS, owner.namespace, replica.pod_name)
        annotations = renumbered(dict(owner.launch.annotations), replica.http_port)
        env = [{"name": k, "value": v} for k, v in owner.launch.env]
        pod = existing or {
            "metadata": {
                "name": replica.pod_name,
                "namespace": owner.namespace,
                **({"annotations": annotations} if annotations else {}),
                **self.pod_metadata(isvc, owner),
            },
            "spec": {
                "containers": [
                    {
                        "name": self.container_name,
                        "image": owner.launch.image,
                        **({"command": list(owner.launch.command)} if owner.launch.command else {}),
                        "args": list(owner.launch.args),
                        "ports": ports,
                        **({"env": env} if env else {}),
                    }
                ]
            },
        }
        if existing is None:
            pod = await self.store.create(PODS, owner.namespace, pod)
        else:  # a restart: the kubelet keeps the pod, the new container listens on new ports here
            pod["spec"]["containers"][0]["ports"] = ports
            if annotations:
                pod["metadata"]["annotations"] = {**pod["metadata"].get("annotations", {}), **annotations}
            pod = await self.store.replace(PODS, owner.namespace, replica.pod_name, pod)
        state: dict[str, Any] = (
            {"terminated": {"exitCode": exit_code, "reason": "Error", "finishedAt": now()}}
            if exit_code is not None
            else {"running": {"startedAt": now()}}
            if phase == "Running"
            else {"waiting": {"reason": "ContainerCreating"}}
        )
        restarts = replica.restarts + (1 if exit_code is not None else 0)
        flag = "True" if ready else "False"
        pod["status"] = {
            "phase": phase,
            "podIP": "127.0.0.1",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": flag},
                {"type": "Ready", "status": flag},
            ],
            "containerStatuses": [
                {
                    "name": self.container_name,
                    "image": owner.launch.image,
                    "imageID": owner.launch.image,
                    "ready": ready,
                    "restartCount": restarts,
                    "started": phase == "Running" and exit_code is None,
                    "state": state,
                }
            ],
        }
        with contextlib.suppress(Exception):  # scaled away meanwhile: the pod is gone
            await self.store.replace(PODS, owner.namespace, replica.pod_name, pod, "status")

    def log_path(self, namespace: str, pod_name: str) -> Path:
        return self.state_dir / "logs" / f"{namespace}.{pod_name}.log"

    def pod_log(self, namespace: str, pod_name: str) -> Path | None:
        """A pod's log (its container's output); for a pod gone, the newest of its InferenceService's."""
        exact = self.log_path(namespace, pod_name)
        if exact.exists():
            return exact
        isvc = pod_name.split("-predictor-")[0]
        matches = sorted(
            (self.state_dir / "logs").glob(f"{namespace}.{isvc}-predictor-*.log"), key=lambda p: p.stat().st_mtime
        )
        return matches[-1] if matches else None

    @staticmethod
    def cpu_percent(replicas: list[Replica]) -> list[float]:
        """Each ready replica's CPU since the last sample, in percent of one core (metrics-server's view)."""
        samples = []
        for replica in replicas:
            with contextlib.suppress(psutil.Error):
                if replica.cpu is None:  # the first reading only starts the measurement
                    replica.cpu = psutil.Process(replica.process.pid)
                    replica.cpu.cpu_percent(interval=None)
                    continue
                samples.append(replica.cpu.cpu_percent(interval=None))
        return samples
