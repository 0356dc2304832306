"""Deliberate defects for the local target, so every conformance check can be shown to fail.

A conformance suite that passes a broken server is worse than none: each check has a self-test
that starts the local target with one of these faults and asserts the check fails, naming the
defect. Faults are named by what a user would see, and each lives in the one component a real
deployment would break in: the reconciler (status), the model server (predictions, readiness),
or the gateway (routing, errors, latency, response bodies).

Deterministic where counts matter: ``502-every=1000`` answers 502 to exactly every 1000th
request, so a load test can assert the exact count it must report.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web

from kserve_conformance.local.store import Obj

RECONCILER = {
    "never-ready": "IngressReady stays False, so Ready never becomes True",
    "missing-condition": "a condition is never written (missing-condition=TYPE, default IngressReady)",
    "wrong-url-host": "status.url uses the other deployment mode's host format",
    "wrong-address": "status.address.url names the wrong in-cluster service",
    "stale-generation": "status.observedGeneration lags behind metadata.generation",
    "split-traffic": "the latest revision gets 90% of traffic, not 100%",
}
API_SERVER = {
    "prune-spec": "the API server drops spec.predictor.model.storageUri, as an outdated CRD would prune it",
    "forbid-create": "RBAC forbids creating InferenceServices",
    "no-kserve": "a plain Kubernetes cluster: the InferenceService CRD is not installed",
}
MODEL_SERVER = {
    "wrong-prediction": "every predicted class is off by one",
    "model-not-ready": "the model endpoint reports not ready while the service is Ready",
    "server-error": "predict and infer answer HTTP 500",
}
GATEWAY = {
    "ingress-404": "the gateway answers 404 for the service's own Host header",
    "502-every": "every N-th request through the gateway answers 502 (502-every=N)",
    "delay-every": "every N-th request is delayed by MS milliseconds (delay-every=N:MS)",
    "no-id-echo": "V2 infer responses drop the request id",
    "wrong-model-name": "V2 infer responses carry another model_name",
    "shape-mismatch": "V2 output tensors claim a shape their data does not have",
    "missing-error-body": "error responses have an empty body instead of {\"error\": ...}",
    "ready-lies": "V2 model ready answers 200 even for a model that does not exist",
}
ALL = {**RECONCILER, **API_SERVER, **MODEL_SERVER, **GATEWAY}


class FaultError(ValueError):
    pass


def parse(specs: Iterable[str]) -> dict[str, str]:
    """``name`` or ``name=value`` entries, validated against the known faults."""
    faults: dict[str, str] = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        if name not in ALL:
            known = ", ".join(sorted(ALL))
            raise FaultError(f"unknown fault {name!r}; known faults: {known}")
        faults[name] = value
    return faults


@dataclass
class GatewayFaults:
    """The gateway's share of the faults, with the counters that make them deterministic."""

    faults: dict[str, str] = field(default_factory=dict)
    _count: int = 0

    def drop_route(self) -> bool:
        return "ingress-404" in self.faults

    async def before(self, request: web.Request) -> web.Response | None:
        self._count += 1
        if "502-every" in self.faults and self._count % int(self.faults["502-every"]) == 0:
            return web.Response(status=502, text="Bad Gateway", headers={"server": "istio-envoy"})
        if "delay-every" in self.faults:
            every, _, ms = self.faults["delay-every"].partition(":")
            if self._count % int(every) == 0:
                await asyncio.sleep(float(ms) / 1000)
        if "ready-lies" in self.faults and request.method == "GET" and request.path.startswith("/v2/models/") \
                and request.path.endswith("/ready"):
            return web.Response(status=200)
        return None

    def after(self, request: web.Request, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        if status >= 400 and "missing-error-body" in self.faults:
            return status, b""
        if status != 200 or not path.endswith("/infer"):
            return status, body
        rewrites = {"no-id-echo", "wrong-model-name", "shape-mismatch"} & self.faults.keys()
        if not rewrites:
            return status, body
        doc = json.loads(body)
        if "no-id-echo" in rewrites:
            doc.pop("id", None)
        if "wrong-model-name" in rewrites:
            doc["model_name"] = f"{doc.get('model_name', '')}-other"
        if "shape-mismatch" in rewrites:
            for output in doc.get("outputs", []):
                output["shape"] = [*output.get("shape", []), 3]
        return status, json.dumps(doc).encode()


def prune_spec(obj: Obj) -> None:
    """The ``prune-spec`` fault, applied where a real API server prunes: on admission."""
    obj.get("spec", {}).get("predictor", {}).get("model", {}).pop("storageUri", None)
