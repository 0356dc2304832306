"""KServe's LLMInferenceService reconcile loop on the local target.

Each reconcile composes the spec (``compose``), refuses what cannot run here (a multi-node
``worker``, prefill/decode ``prefill``: the condition says so, nothing is faked), writes the child
objects KServe writes (``children``), runs the workload's replicas as real vLLM processes
(``workload``, through the kubelet), accepts the route and pool as the gateway's controller
would, and writes the status (``status``). The stop annotation ``serving.kserve.io/stop: "true"``
removes the workload and the router's objects and reports ``Stopped``; a deleted service's
children and pods go with it. The gateway (``kserve_local/ingress``) serves the HTTPRoutes.

A reconcile runs per service key from a queue fed by the service's watch, its configs' watch
(a config created or changed brings every service back: ``ConfigNotFound`` recovers) and its
pods' lives; one that raises is an event and a retry with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from pathlib import Path
from typing import Any

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import (
    BY_KIND,
    HTTPROUTES,
    INFERENCEPOOLS,
    LLMINFERENCESERVICECONFIGS,
    LLMINFERENCESERVICES,
)
from kserve_local.apiserver.store import Obj, Store, now
from kserve_local.faults import Fault, Faults
from kserve_local.kubelet import PODS, PodOwner, Replica
from kserve_local.llmisvc import addresses, children, compose, group, status
from kserve_local.llmisvc.children import gateway_refs
from kserve_local.llmisvc.install import GATEWAY_CONTROLLER
from kserve_local.llmisvc.status import TRUE, Cond, Observed
from kserve_local.llmisvc.workload import LlmKubelet, NotRunnable, Workload, launch, template_hash
from kserve_local.timeouts import RECONCILE_BACKOFF_MAX_S, RECONCILE_BACKOFF_S

log = logging.getLogger(__name__)
STOP = "serving.kserve.io/stop"
NOT_SUPPORTED = "NotSupportedOnLocalTarget"
DEPLOYMENTS, SERVICES = BY_KIND[("apps/v1", "Deployment")], BY_KIND[("v1", "Service")]
GATEWAYS = BY_KIND[("gateway.networking.k8s.io/v1", "Gateway")]
KINDS = {"Deployment": DEPLOYMENTS, "Service": SERVICES, "HTTPRoute": HTTPROUTES, "InferencePool": INFERENCEPOOLS}
Key = tuple[str, str]


def global_config(store: Store) -> dict[str, str]:
    """KServe's global config for the presets: the ingress gateway from ``inferenceservice-config``."""
    gateway = "kserve/kserve-ingress-gateway"
    configmap = store.find(BY_KIND[("v1", "ConfigMap")], "kserve", "inferenceservice-config")
    if configmap is not None:
        with contextlib.suppress(ValueError, TypeError):
            gateway = json.loads(configmap["data"]["ingress"]).get("kserveIngressGateway") or gateway
    ns, _, name = gateway.partition("/")
    return {
        "IngressGatewayNamespace": ns,
        "IngressGatewayName": name,
        "ModelBasedRoutingHeaderName": "X-Gateway-Model-Name",
        "EnableTLS": "",
    }


def replica_count(spec: Obj) -> int:
    """``spec.replicas``, 1 when unset (KServe's default); 0 is a scale to zero."""
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def closed_port() -> int:
    """A loopback port nothing listens on (the ``llmisvc-address-unreachable`` fault's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlmController:
    def __init__(self, store: Store, state_dir: Path, faults: Faults, events: Recorder | None = None) -> None:
        self.store, self.faults = store, faults
        self.events = events or Recorder(store)  # share the target's: event names never collide
        self.kubelet = LlmKubelet(store, state_dir, faults, self.events)
        self.kubelet.hooks = Hooks(self)
        self.workloads: dict[Key, Workload] = {}
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._failures: dict[Key, int] = {}
        self._dead_port = closed_port()

    def enqueue(self, key: Key) -> None:
        self._queue.put_nowait(key)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        watches = [loop.create_task(self._watch_services()), loop.create_task(self._watch_configs())]
        try:
            while True:
                key = await self._queue.get()
                await self._reconcile_safely(key)
        finally:
            for task in watches:
                task.cancel()

    async def _watch_services(self) -> None:
        async for event in self.store.watch(LLMINFERENCESERVICES, since=None):
            meta = event.object["metadata"]
            self.enqueue((meta["namespace"], meta["name"]))
            name = group.group_of(event.object)
            if name is not None:  # a member's change (readiness, weight, stop, deletion) is its peers' too
                for peer in self.store.list(LLMINFERENCESERVICES, meta["namespace"], copies=False):
                    if group.group_of(peer) == name and peer["metadata"]["name"] != meta["name"]:
                        self.enqueue((meta["namespace"], peer["metadata"]["name"]))

    async def _watch_configs(self) -> None:
        async for _ in self.store.watch(LLMINFERENCESERVICECONFIGS, since=self.store.resource_version):
            for obj in self.store.list(LLMINFERENCESERVICES, copies=False):
                self.enqueue((obj["metadata"]["namespace"], obj["metadata"]["name"]))

    async def _reconcile_safely(self, key: Key) -> None:
        try:
            await self.reconcile(key)
            self._failures.pop(key, None)
        except Exception as err:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            delay = min(RECONCILE_BACKOFF_S * 2 ** (failures - 1), RECONCILE_BACKOFF_MAX_S)
            log.exception("reconcile failed for LLMInferenceService %s/%s; retrying in %.1fs", *key, delay)
            current = self.store.find(LLMINFERENCESERVICES, *key)
            if current is not None:
                await self.events.record(current, "Warning", "InternalError", f"reconcile failed: {err}")
            asyncio.get_running_loop().call_later(delay, self.enqueue, key)

    # --- the reconcile ---------------------------------------------------------------------
    async def reconcile(self, key: Key) -> None:
        obj = self.store.find(LLMINFERENCESERVICES, *key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            await self._teardown(key, everything=True)
            return
        generation = obj["metadata"].get("generation", 1)
        previous = obj.get("status") or {}
        try:
            composed = compose.compose(obj, self._find_config, global_config(self.store))
        except compose.ConfigNotFound as err:
            await self._write(obj, Observed(generation, presets=Cond("False", "ConfigNotFound", str(err))), previous)
            return
        except compose.CombineError as err:
            await self._write(obj, Observed(generation, presets=Cond("False", "CombineBaseError", str(err))), previous)
            return
        spec = composed.spec
        observed = Observed(generation, applied=composed.applied)
        router = spec.get("router") or {}
        managed_pool = router.get("scheduler") is not None and not (router["scheduler"].get("pool") or {}).get("ref")
        if spec.get("worker") is not None or spec.get("prefill") is not None:
            await self._teardown(key, everything=True)
            self._refuse(spec, observed)
            await self._write(obj, observed, previous)
            return
        if self._stopped(obj):
            await self._teardown(key, everything=True)
            observed.stopped = True
            observed.main = TRUE
            observed.routes = TRUE if router.get("route") is not None else None
            observed.gateways = TRUE  # KServe marks it Stopped whether or not the spec has gateway refs
            observed.pool = observed.scheduler = TRUE if managed_pool else None
            await self._write(obj, observed, previous)
            return
        wanted = children.desired(obj, spec)
        route = next((c for c in wanted if c["kind"] == "HTTPRoute"), None)
        if route is not None:
            self._group(obj, route, observed)
        if Fault.LLMISVC_ROUTE_NO_BACKENDS in self.faults:
            for child in wanted:
                for rule in child["spec"].get("rules") or [] if child["kind"] == "HTTPRoute" else []:
                    rule.pop("backendRefs", None)
        await self._apply_children(obj, wanted)
        workload = await self._workload(obj, spec, observed)
        names = children.names(obj["metadata"]["name"])
        await self._deployment_status(key[0], names["workload"], workload, replica_count(spec))
        observed.workloads = {
            "primary": {
                "apiGroup": "apps",
                "kind": "Deployment",
                "name": names["workload"],
                "readyReplicas": len(workload.ready_replicas()) if workload else 0,
            },
            "service": {"kind": "Service", "name": names["service"]},
        }
        if managed_pool:
            await self._scheduler(obj, names["scheduler"])
            await self._pool_status(key[0], names["pool"], route)
            observed.pool = TRUE
            observed.scheduler = TRUE
            observed.workloads["scheduler"] = {"apiGroup": "apps", "kind": "Deployment", "name": names["scheduler"]}
            observed.router["scheduler"] = {
                "inferencePool": {"name": names["pool"], "namespace": key[0]},
                "service": {"name": names["epp"], "namespace": key[0]},
            }
        if route is not None:
            await self._route_status(obj, route, observed, spec)
        await self._write(obj, observed, previous)

    def _stopped(self, obj: Obj) -> bool:
        stopped = (obj["metadata"].get("annotations") or {}).get(STOP) == "true"
        return stopped and Fault.LLMISVC_STOP_IGNORED not in self.faults

    def _group(self, obj: Obj, route: Obj, observed: Observed) -> None:
        """A routing group member's route gets the group's weighted backendRefs; its status the group's."""
        name = group.group_of(obj)
        if name is None:
            return
        peers = self.store.list(LLMINFERENCESERVICES, obj["metadata"]["namespace"], copies=False)
        matching, divergent = group.split(obj, group.members(obj, peers, self._stopped))
        group.rewrite_rules(route, obj, matching)
        observed.group = TRUE
        observed.router["group"] = group.status(name, matching)
        if divergent:
            observed.degraded = Cond("True", group.DIVERGENCE, group.divergence_message(divergent))

    @staticmethod
    def _referenced(spec: Obj, namespace: str) -> list[Key]:
        return [(ref.get("namespace") or namespace, ref.get("name", "")) for ref in gateway_refs(spec)]

    def _find_config(self, namespace: str, name: str) -> Obj | None:
        return self.store.find(LLMINFERENCESERVICECONFIGS, namespace, name)

    @staticmethod
    def _refuse(spec: Obj, observed: Observed) -> None:
        """Multi-node and prefill/decode: the conditions KServe tracks them by, False, saying why."""
        if spec.get("prefill") is not None:
            observed.prefill = Cond(
                "False",
                NOT_SUPPORTED,
                "the local target cannot run prefill/decode disaggregated serving (spec.prefill): "
                "it has one node and no KV-cache transfer between vLLM instances",
            )
        if spec.get("worker") is not None:
            observed.worker = Cond(
                "False",
                NOT_SUPPORTED,
                "the local target cannot run a multi-node (LeaderWorkerSet) workload (spec.worker): "
                "it has one node and no LeaderWorkerSet controller",
            )
        elif observed.prefill is not None:
            observed.main = observed.prefill  # the decode workload is not started without its prefill
        router = spec.get("router") or {}
        skipped = Cond(
            "False", NOT_SUPPORTED, "the router is not reconciled for a workload the local target cannot run"
        )
        observed.routes = skipped if router.get("route") is not None else None
        observed.gateways = skipped if gateway_refs(spec) else None

    async def _apply_children(self, obj: Obj, wanted: list[Obj]) -> None:
        namespace = obj["metadata"]["namespace"]
        keep = {(c["kind"], c["metadata"]["name"]) for c in wanted}
        for kind, resource in KINDS.items():
            for existing in self.store.list(resource, namespace, _owned_by(obj)):
                if (kind, existing["metadata"]["name"]) not in keep:
                    await _delete(self.store, resource, namespace, existing["metadata"]["name"])
        for child in wanted:
            resource = KINDS[child["kind"]]
            found = self.store.find(resource, namespace, child["metadata"]["name"])
            if found is None:
                await self.store.create(resource, namespace, child)
            elif found.get("spec") != child["spec"] or found["metadata"].get("labels") != child["metadata"]["labels"]:
                found["spec"] = child["spec"]
                found["metadata"]["labels"] = child["metadata"]["labels"]
                await self.store.replace(resource, namespace, child["metadata"]["name"], found)

    async def _workload(self, obj: Obj, spec: Obj, observed: Observed) -> Workload | None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        replicas = replica_count(spec)
        try:
            wanted = launch(obj, spec, prefix_caching=Fault.LLMISVC_PREFIX_CACHING_OFF not in self.faults)
        except NotRunnable as err:
            await self._teardown(key, everything=False)
            observed.main = Cond("False", "ReconcileSingleNodeWorkloadError", str(err))
            return None
        digest = template_hash(spec.get("template") or {})
        current = self.workloads.get(key)
        if current is not None and (current.launch != wanted or current.hash != digest):
            await self._teardown(key, everything=False)  # a changed template: the new ReplicaSet replaces it
            current = None
        if current is None:
            names = children.names(key[1])
            current = Workload(key[1], key[0], names["workload"], wanted, digest, children.workload_labels(key[1]))
            self.workloads[key] = current
        if len(current.replicas) != replicas and (current.scaling is None or current.scaling.done()):
            # One scaling at a time (a ReplicaSet's): a reconcile during a start must not start another.
            current.scaling = asyncio.get_running_loop().create_task(self.kubelet.scale(obj, current, replicas))
            current.scaling.add_done_callback(lambda _: self.enqueue(key))
        ready = len(current.ready_replicas())
        if Fault.LLMISVC_READY_NEVER in self.faults:
            observed.main = Cond(
                "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
            )
        elif ready >= replicas:
            observed.main = TRUE
        else:
            message = current.failure or "Deployment does not have minimum availability."
            observed.main = Cond("False", "MinimumReplicasUnavailable", message)
        return current

    async def _deployment_status(self, namespace: str, name: str, workload: Workload | None, replicas: int) -> None:
        found = self.store.find(DEPLOYMENTS, namespace, name)
        if found is None:
            return
        ready = len(workload.ready_replicas()) if workload else 0
        running = len(workload.replicas) if workload else 0
        available = ready >= replicas
        found["status"] = {
            "observedGeneration": found["metadata"].get("generation", 1),
            "replicas": running,
            "updatedReplicas": running,
            "readyReplicas": ready,
            "availableReplicas": ready,
            **({"unavailableReplicas": running - ready} if running > ready else {}),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available else "False",
                    "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available
                    else "Deployment does not have minimum availability.",
                }
            ],
        }
        await self.store.replace(DEPLOYMENTS, namespace, name, found, "status")

    async def _scheduler(self, obj: Obj, name: str) -> None:
        """The endpoint picker's Deployment and pod: its scorers run in the gateway, so it is ready."""
        namespace = obj["metadata"]["namespace"]
        deployment = self.store.find(DEPLOYMENTS, namespace, name)
        if deployment is None:
            return
        if not deployment.get("status"):
            deployment["status"] = {
                "observedGeneration": 1,
                "replicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "updatedReplicas": 1,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
            }
            await self.store.replace(DEPLOYMENTS, namespace, name, deployment, "status")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if self.store.list(
            PODS, namespace, lambda p: p["metadata"].get("labels") == {**labels, "pod-template-hash": "epp"}
        ):
            return
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        pod = {
            "metadata": {
                "generateName": f"{name}-epp-",
                "labels": {**labels, "pod-template-hash": "epp"},
                "ownerReferences": [children.owner_reference(obj)],
            },
            "spec": {"containers": containers},
        }
        created = await self.store.create(PODS, namespace, pod)
        log_path = self.kubelet.log_path(namespace, created["metadata"]["name"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(
            "endpoint picker: the local target's scorers run in its gateway (kserve_local/ingress/picker.py): "
            "prefix-cache 3, queue 2, kv-cache-utilization 2; the picked pod is returned in "
            "x-gateway-destination-endpoint\n"
        )
        created["status"] = {
            "phase": "Running",
            "podIP": "127.0.0.1",
            "conditions": [
                {"type": t, "status": "True"} for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": c.get("name", "main"),
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "image": c.get("image", ""),
                    "imageID": "",
                    "state": {"running": {"startedAt": now()}},
                }
                for c in containers
            ],
        }
        await self.store.replace(PODS, namespace, created["metadata"]["name"], created, "status")

    async def _pool_status(self, namespace: str, name: str, route: Obj | None) -> None:
        """The pool accepted by each Gateway its route attaches to, as the gateway's controller writes it."""
        pool = self.store.find(INFERENCEPOOLS, namespace, name)
        if pool is None:
            return
        generation = pool["metadata"].get("generation", 1)
        parents = [
            {
                "parentRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": ref.get("name", ""),
                    "namespace": ref.get("namespace") or namespace,
                },
                "conditions": [
                    {
                        "type": kind,
                        "status": "True",
                        "reason": kind,
                        "message": "",
                        "observedGeneration": generation,
                        "lastTransitionTime": now(),
                    }
                    for kind in ("Accepted", "ResolvedRefs")
                ],
            }
            for ref in ((route or {}).get("spec") or {}).get("parentRefs") or []
        ]
        if _parents_seen(pool) != _parents_seen({"status": {"parents": parents}}):
            pool["status"] = {"parents": parents}
            await self.store.replace(INFERENCEPOOLS, namespace, name, pool, "status")

    async def _route_status(self, obj: Obj, route: Obj, observed: Observed, spec: Obj) -> None:
        """Accept the route for each parent Gateway of the local gateway's class, and derive the addresses."""
        namespace = obj["metadata"]["namespace"]
        gateways: dict[Key, Obj] = {}
        parents = []
        for ref in route["spec"].get("parentRefs") or []:
            gw_key = (ref.get("namespace") or namespace, ref.get("name", ""))
            gateway = self.store.find(GATEWAYS, *gw_key)
            if gateway is not None:
                gateways[gw_key] = gateway
            parents.append(
                {
                    "parentRef": ref,
                    "controllerName": GATEWAY_CONTROLLER,
                    "conditions": [
                        {
                            "type": "Accepted",
                            "status": "True" if gateway is not None else "False",
                            "reason": "Accepted" if gateway is not None else "NoMatchingParent",
                            "message": "" if gateway is not None else f"Gateway {gw_key[0]}/{gw_key[1]} not found",
                            "observedGeneration": 1,
                            "lastTransitionTime": now(),
                        },
                        {
                            "type": "ResolvedRefs",
                            "status": "True",
                            "reason": "ResolvedRefs",
                            "message": "",
                            "observedGeneration": 1,
                            "lastTransitionTime": now(),
                        },
                    ],
                }
            )
        stored = self.store.find(HTTPROUTES, namespace, route["metadata"]["name"])
        if stored is not None:
            for parent in parents:
                for cond in parent["conditions"]:
                    cond["observedGeneration"] = stored["metadata"].get("generation", 1)
            old = {
                p["parentRef"]["name"]: [c["status"] for c in p["conditions"]]
                for p in (stored.get("status") or {}).get("parents") or []
            }
            new = {p["parentRef"]["name"]: [c["status"] for c in p["conditions"]] for p in parents}
            if old != new or not stored.get("status"):
                stored["status"] = {"parents": parents}
                await self.store.replace(HTTPROUTES, namespace, route["metadata"]["name"], stored, "status")
        accepted = all(c["status"] == "True" for p in parents for c in p["conditions"]) and bool(parents)
        observed.routes = (
            TRUE
            if accepted
            else Cond("False", "HTTPRoutesNotReady", "the HTTPRoute is not accepted by its parent Gateway")
        )
        if gateway_refs(spec):  # GatewaysReady is KServe's only for referenced Gateways (cleared otherwise)
            not_ready = [f"{k[0]}/{k[1]}" for k in self._referenced(spec, namespace) if not _programmed(self.store, k)]
            observed.gateways = (
                Cond("False", "GatewaysNotReady", f"The following Gateways are not ready: {not_ready}")
                if not_ready
                else TRUE
            )
        for gw_key in gateways:
            await self._count_attached(gw_key)
        observed.router["gateways"] = [
            {
                "name": k[1],
                "namespace": k[0],
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "listeners": [addresses.listener(g, None).get("name", "")],
                "httpRoutes": [{"name": route["metadata"]["name"], "namespace": namespace}],
            }
            for k, g in gateways.items()
        ]
        model = (spec.get("model") or {}).get("name") or obj["metadata"]["name"]
        routing = (spec.get("annotations") or {}).get(addresses.MODEL_ROUTING) == "true"
        found = addresses.addresses(route, gateways, namespace, model, routing)
        observed.url = addresses.service_url(found)
        if Fault.LLMISVC_ADDRESS_UNREACHABLE in self.faults:
            for address in found:
                host = address["url"].split("://", 1)[1].split("/", 1)
                address["url"] = f"http://127.0.0.1:{self._dead_port}/" + (host[1] if len(host) > 1 else "")
        if Fault.LLMISVC_MODELS_MISSING in self.faults:
            for address in found:
                address["models"] = [m for m in address["models"] if m["name"] != model]
        observed.addresses = found

    async def _count_attached(self, gw_key: Key) -> None:
        """The Gateway's listeners' ``attachedRoutes``: the HTTPRoutes whose parentRefs name it."""
        gateway = self.store.find(GATEWAYS, *gw_key)
        if gateway is None:
            return
        attached = sum(
            1
            for r in self.store.list(HTTPROUTES, copies=False)
            if any(
                (p.get("namespace") or r["metadata"]["namespace"], p.get("name")) == gw_key
                for p in (r.get("spec") or {}).get("parentRefs") or []
            )
        )
        listeners = (gateway.get("status") or {}).get("listeners") or []
        if listeners and any(item.get("attachedRoutes") != attached for item in listeners):
            for item in listeners:
                item["attachedRoutes"] = attached
            await self.store.replace(GATEWAYS, gw_key[0], gw_key[1], gateway, "status")

    async def _write(self, obj: Obj, observed: Observed, previous: Obj) -> None:
        written = status.write(observed, previous)
        if written == previous:
            return
        current = self.store.find(LLMINFERENCESERVICES, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if current is None:
            return
        current["status"] = written
        await self.store.replace(
            LLMINFERENCESERVICES, obj["metadata"]["namespace"], obj["metadata"]["name"], current, "status"
        )

    async def _teardown(self, key: Key, everything: bool) -> None:
        """The workload's processes and pods gone; with ``everything``, every child object too."""
        workload = self.workloads.pop(key, None)
        if workload is not None:
            if workload.scaling is not None and not workload.scaling.done():
                workload.scaling.cancel()  # a replica it started is in workload.replicas, stopped below
                with contextlib.suppress(asyncio.CancelledError):
                    await workload.scaling
            replicas, workload.replicas = list(workload.replicas), []
            await asyncio.gather(*(self.kubelet.remove(workload, r) for r in replicas))
        namespace, name = key
        match = _labelled(name)
        for pod in self.store.list(PODS, namespace, match):
            if everything or pod["metadata"]["labels"].get("pod-template-hash") != "epp":
                await _delete(self.store, PODS, namespace, pod["metadata"]["name"])
        if everything:
            parents = {
                (p.get("namespace") or namespace, p.get("name", ""))
                for r in self.store.list(HTTPROUTES, namespace, match)
                for p in (r.get("spec") or {}).get("parentRefs") or []
            }
            for resource in KINDS.values():
                for child in self.store.list(resource, namespace, match):
                    await _delete(self.store, resource, namespace, child["metadata"]["name"])
            for gw_key in parents:
                await self._count_attached(gw_key)

    async def shutdown(self) -> None:
        for workload in self.workloads.values():
            if workload.scaling is not None:
                workload.scaling.cancel()
        replicas = [r for w in self.workloads.values() for r in w.replicas]
        self.workloads = {}
        await self.kubelet.stop_all(replicas)


def _parents_seen(obj: Obj) -> list[Any]:
    """A route's or pool's parent status without its timestamps: what a rewrite would change."""
    return [
        (p.get("parentRef"), [(c.get("type"), c.get("status"), c.get("observedGeneration")) for c in p["conditions"]])
        for p in (obj.get("status") or {}).get("parents") or []
    ]


def _programmed(store: Store, key: Key) -> bool:
    gateway = store.find(GATEWAYS, *key)
    conditions = (gateway or {}).get("status", {}).get("conditions") or []
    return any(c.get("type") == "Programmed" and c.get("status") == "True" for c in conditions)


def _owned_by(obj: Obj) -> Any:
    uid = obj["metadata"]["uid"]
    return lambda child: any(ref.get("uid") == uid for ref in child["metadata"].get("ownerReferences") or [])


def _labelled(name: str) -> Any:
    wanted = {"app.kubernetes.io/name": name, **children.PART_OF}
    return lambda child: wanted.items() <= (child["metadata"].get("labels") or {}).items()


async def _delete(store: Store, resource: Any, namespace: str, name: str) -> None:
    with contextlib.suppress(Exception):
        await store.delete(resource, namespace, name)


class Hooks:
    """What a workload pod's life means for its service: a reconcile (see ``kubelet.Hooks``)."""

    def __init__(self, controller: LlmController) -> None:
        self.controller = controller

    def routes_changed(self) -> None:
        """The gateway reads the pods from the store on each request: nothing to rebuild."""

    def owns(self, owner: PodOwner) -> bool:
        return self.controller.workloads.get((owner.namespace, owner.isvc)) is owner

    def current(self, isvc: Obj) -> Obj:
        meta = isvc["metadata"]
        return self.controller.store.find(LLMINFERENCESERVICES, meta["namespace"], meta["name"]) or isvc

    async def replica_ready(self, isvc: Obj, owner: PodOwner, replica: Replica) -> None:
        if isinstance(owner, Workload):
            owner.failure = ""
        self.controller.enqueue((owner.namespace, owner.isvc))

    async def replica_exited(self, isvc: Obj, owner: PodOwner, was_ready: bool, code: int | None, tail: str) -> None:
        if isinstance(owner, Workload):
            owner.failure = f"container main of a workload pod exited with code {code}: {tail}"
        self.controller.enqueue((owner.namespace, owner.isvc))

    async def start_timed_out(self, isvc: Obj, owner: PodOwner) -> None:
        if isinstance(owner, Workload):
            owner.failure = "the vLLM server did not answer its readiness probe in time"
        self.controller.enqueue((owner.namespace, owner.isvc))
