"""KServe's install on the local target: its controller's objects and its admission webhooks.

A cluster's KServe is a Deployment (``kserve/kserve-controller-manager``) whose pod runs the
controller and the webhook server, and the webhook configurations that make the API server call
it. The target runs both in its own process; :func:`objects` are what it stores so that
``kubectl get pods -n kserve`` and the suite find them where a KServe install puts them, and
:func:`register` plugs the webhooks (:mod:`kserve_local.kserve.webhooks`) into the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

from kserve_local.apiserver.resources import BY_KIND, INFERENCESERVICES
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Fault, Faults
from kserve_local.kserve import webhooks

INSTALL = Path(__file__).parent / "data" / "install.yaml"
PODS = BY_KIND[("v1", "Pod")]
log = logging.getLogger(__name__)


@cache
def _documents() -> tuple[Obj, ...]:
    return tuple(yaml.safe_load_all(INSTALL.read_text()))


def objects(faults: Faults) -> list[Obj]:
    """The install's objects; with ``controller-not-ready`` the pod runs but fails its readiness probe."""
    docs = [copy.deepcopy(d) for d in _documents()]
    if Fault.CONTROLLER_NOT_READY in faults:
        for doc in docs:
            if doc["kind"] == "Pod":
                status = doc["status"]
                status["conditions"] = [
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
                ]
                status["containerStatuses"][0]["ready"] = False
            if doc["kind"] == "Deployment":
                doc["status"].update(readyReplicas=0, availableReplicas=0, unavailableReplicas=1)
                doc["status"]["conditions"] = [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}
                ]
    return docs


def register(store: Store, faults: Faults, then: Callable[[Obj], None] | None = None) -> None:
    """KServe's two InferenceService webhooks, as the API server calls them (unless a fault removes one).

    ``then`` runs after the defaulter: an admission step of the API server's own (a fault's pruning).
    """
    defaulter = None if Fault.WEBHOOK_NO_DEFAULTS in faults else webhooks.defaulter(store)

    def mutate(isvc: Obj) -> None:
        if defaulter is not None:
            defaulter(isvc)
        if then is not None:
            then(isvc)

    store.mutators[INFERENCESERVICES.key] = mutate
    if Fault.WEBHOOK_ADMITS_INVALID not in faults:
        store.webhooks[INFERENCESERVICES.key] = webhooks.validator()


def follow(store: Store, controller: asyncio.Task[None]) -> None:
    """The controller pod stays Ready only while the controller runs: a loop that ends (other than
    by shutdown) leaves the pod's container terminated and the pod not Ready, as a crashed manager's."""

    def ended(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        why = repr(task.exception()) if task.exception() else "the controller's loop returned"
        log.error("KServe controller stopped: %s", why)
        asyncio.get_running_loop().create_task(_crashed(store, why))

    controller.add_done_callback(ended)


async def _crashed(store: Store, why: str) -> None:
    for doc in _documents():
        if doc["kind"] != "Pod":
            continue
        pod = store.find(PODS, doc["metadata"]["namespace"], doc["metadata"]["name"])
        if pod is None:
            continue
        status = pod.setdefault("status", {})
        status["conditions"] = [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
        ]
        for container in status.get("containerStatuses") or []:
            container.update(ready=False, started=False)
            container["state"] = {"terminated": {"exitCode": 1, "reason": "Error", "message": why}}
        with contextlib.suppress(Exception):  # the target may be shutting down
            await store.replace(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], pod, "status")
