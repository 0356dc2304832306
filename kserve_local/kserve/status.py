"""The InferenceService status, as KServe's controller writes it.

``PredictorReady``, ``IngressReady`` and ``Ready`` move from Unknown to True (or False with a
reason); in Knative mode the conditions KServe propagates from the Knative Route and
Configuration follow the predictor's. ``status.url`` and ``status.address.url`` are computed
here from the cluster's ConfigMaps as they are at the time of writing (:mod:`kserve_local.kserve.urls`),
``status.components.predictor`` carries the revisions and, in Knative mode, the traffic split;
``observedGeneration`` is the spec generation acted on, and ``modelStatus`` the model's state.

A status is written only against the generation it was computed for: a newer spec supersedes it,
and the reconcile for that spec writes its own. The controller's status faults (wrong URL host,
wrong address, split traffic, a missing condition, a stale generation, never ready) live here.
"""

from __future__ import annotations

from typing import Any

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import INFERENCESERVICES
from kserve_local.apiserver.store import Obj, Store, now
from kserve_local.faults import Fault, Faults
from kserve_local.kserve import urls
from kserve_local.kserve.config import Mode, Settings
from kserve_local.kserve.service import Service

KNATIVE_CONDITIONS = ("RoutesReady", "LatestDeploymentReady", "PredictorRouteReady", "PredictorConfigurationReady")
Condition = tuple[str, str, str]  # status, reason, message
TRUE: Condition = ("True", "", "")
STARTING: Condition = ("Unknown", "Reconciling", "model server is starting")


class StatusWriter:
    def __init__(self, store: Store, faults: Faults, events: Recorder) -> None:
        self.store, self.faults, self.events = store, faults, events

    def current(self, isvc: Obj) -> Obj:
        """The stored object as it is now (statuses are written against the current generation)."""
        meta = isvc["metadata"]
        return self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"]) or isvc

    def where(self, isvc: Obj, service: Service, settings: Settings | None = None) -> urls.Urls:
        meta = isvc["metadata"]
        return urls.for_service(
            meta["name"],
            meta["namespace"],
            service.mode,
            settings or Settings.read(self.store),
            meta.get("annotations"),
            meta.get("labels"),
        )

    async def progressing(self, isvc: Obj, service: Service) -> None:
        """A new revision is starting; a previous one that serves keeps the ingress ready."""
        serving = service.latest_ready is not None
        await self.write(
            isvc,
            predictor=STARTING,
            ingress=TRUE if serving else ("Unknown", "Reconciling", "waiting for the predictor"),
            components=self.components(isvc, service),
        )

    async def ready(self, isvc: Obj, service: Service) -> None:
        """The latest ready revision serves: URLs, components, and Ready once the latest created is it."""
        meta = isvc["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        settings = Settings.read(self.store)
        where = self.where(isvc, service, settings)
        url = where.url
        if Fault.WRONG_URL_HOST in self.faults:  # the other mode's format: the kserve#3956 mix-up
            url = urls.for_service(name, namespace, service.mode.other, settings).url
        ingress = TRUE
        if Fault.NEVER_READY in self.faults:
            ingress = ("False", "IngressNotConfigured", "fault injected: ingress never becomes ready")
        address = where.address
        if Fault.WRONG_ADDRESS in self.faults:
            address = address.replace(f".{namespace}.", ".default.")
        latest_is_ready = service.latest_created is service.latest_ready
        predictor = TRUE if latest_is_ready else STARTING
        service.degraded = False
        await self.write(
            isvc,
            predictor=predictor,
            ingress=ingress,
            url=url,
            address=address,
            components=self.components(isvc, service, where),
            loaded=latest_is_ready or None,
        )
        if ingress[0] == "True" and latest_is_ready:
            await self.events.record(isvc, "Normal", "InferenceServiceReady", f"InferenceService [{name}] is Ready")

    async def failed(self, isvc: Obj, service: Service, reason: str, message: str) -> None:
        """The new spec cannot be served; a previous revision that still serves keeps its route."""
        serving = service.latest_ready is not None and bool(service.latest_ready.ready_replicas())
        await self.write(
            isvc,
            predictor=("False", reason, message),
            ingress=TRUE if serving else ("False", "PredictorNotReady", "the predictor is not ready"),
            loaded=False,
            failure=(reason, message),
        )
        await self.events.record(isvc, "Warning", "InternalError", message)

    def components(self, isvc: Obj, service: Service, where: urls.Urls | None = None) -> dict[str, Any] | None:
        """``status.components.predictor`` as KServe writes it from the Knative Service (or Deployment)."""
        ready, created = service.latest_ready, service.latest_created
        if ready is None or created is None:
            return None
        where = where or self.where(isvc, service)
        predictor: dict[str, Any] = {
            "url": where.predictor_url,
            "latestCreatedRevision": created.name,
            "latestReadyRevision": ready.name,
        }
        if service.mode is Mode.KNATIVE:
            if service.rollout.latest:
                predictor["latestRolledoutRevision"] = service.rollout.latest
            if service.rollout.previous:
                predictor["previousRolledoutRevision"] = service.rollout.previous
            traffic = [t.as_status() for t in service.traffic]
            if Fault.SPLIT_TRAFFIC in self.faults:
                traffic = [
                    {**traffic[0], "percent": 90},
                    {
                        "revisionName": f"{isvc['metadata']['name']}-predictor-00000",
                        "percent": 10,
                        "latestRevision": False,
                    },
                ]
            predictor["traffic"] = traffic
        return {"predictor": predictor}

    async def write(
        self,
        isvc: Obj,
        predictor: Condition,
        ingress: Condition,
        url: str | None = None,
        address: str | None = None,
        components: dict[str, Any] | None = None,
        loaded: bool | None = None,
        failure: tuple[str, str] | None = None,
    ) -> None:
        meta = isvc["metadata"]
        latest = self.store.find(INFERENCESERVICES, meta["namespace"], meta["name"])
        if latest is None or latest["metadata"]["generation"] != meta["generation"]:
            return  # superseded: the next reconcile writes the status for the new spec
        previous = {c["type"]: c for c in latest.get("status", {}).get("conditions", [])}
        ready_status = (
            "True"
            if predictor[0] == ingress[0] == "True"
            else ("False" if "False" in (predictor[0], ingress[0]) else "Unknown")
        )
        wanted = {
            "PredictorReady": predictor,
            "IngressReady": ingress,
            "Ready": (
                ready_status,
                "" if ready_status == "True" else (predictor[1] or ingress[1]),
                "" if ready_status == "True" else (predictor[2] or ingress[2]),
            ),
        }
        if Settings.read(self.store).mode_of(meta.get("annotations")) is Mode.KNATIVE:
            # The conditions KServe propagates from the Knative Route and Configuration.
            for ctype in KNATIVE_CONDITIONS:
                wanted[ctype] = predictor
        if Fault.MISSING_CONDITION in self.faults:
            wanted.pop(self.faults[Fault.MISSING_CONDITION], None)
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
        doc: dict[str, Any] = dict(latest.get("status", {}))
        observed = meta["generation"] - (1 if Fault.STALE_GENERATION in self.faults else 0)
        doc.update(conditions=conditions, observedGeneration=observed)
        if url is not None:
            doc["url"] = url
            doc["address"] = {"url": address}
        if components is not None:
            doc["components"] = components
        if loaded is not None:
            state = "Loaded" if loaded else "FailedToLoad"
            doc["modelStatus"] = {
                "transitionStatus": "UpToDate" if loaded else "BlockedByFailedLoad",
                "states": {"activeModelState": state if loaded else "", "targetModelState": state},
            }
            if failure:
                doc["modelStatus"]["lastFailureInfo"] = {"reason": failure[0], "message": failure[1]}
        latest["status"] = doc
        await self.store.replace(INFERENCESERVICES, meta["namespace"], meta["name"], latest, "status")
