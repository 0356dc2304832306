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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kserve_conformance.local.store import Obj

RECONCILER = {
    "never-ready": "IngressReady stays False, so Ready never becomes True",
    "missing-condition": "a condition is never written (missing-condition=TYPE, default IngressReady)",
    "wrong-url-host": "status.url uses the other deployment mode's host format",
    "wrong-address": "status.address.url names the wrong in-cluster service",
    "stale-generation": "status.observedGeneration lags behind metadata.generation",
    "split-traffic": "the latest revision gets 90% of traffic, not 100%",
    "never-scale-to-zero": "the autoscaler keeps one replica of an idle revision with minReplicas 0",
    "no-activator": "a request to a revision at zero replicas gets 503 at once; the revision stays at zero",
    "no-autoscale": "the autoscaler keeps every revision at its initial replica count",
    "no-scale-down": "the autoscaler never removes a replica",
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
    "not-live": "V2 server live answers 503",
    "not-ready": "V2 server ready answers 503",
    "health-body-false": "V2 health endpoints answer 200 with a body that says false",
    "metadata-no-extensions": "V2 server metadata lacks the required \"extensions\"",
    "metadata-wrong-name": "V2 model metadata names another model",
    "batch-not-first": "V2 output tensors put a dimension of 1 before the batch",
    "error-as-200": "V2 inference errors are answered 200, with the error body",
    "error-body-text": "V2 inference errors carry a text/plain traceback instead of {\"error\": ...}",
    "bad-input-500": "V2 inference errors for bad input are answered 500",
    "lists-version": "V2 model metadata lists version v1, whose versioned infer path answers 404",
    "binary-advertised-broken": "GET /v2 lists binary_tensor_data, but binary requests answer 500",
    "form-body-415": "V1 predict refuses a JSON body sent with curl's form content type (415)",
    "canary-ignored": "the status shows the canary split, but every request goes to the latest revision",
    "rollback-ignored": "the status shows a rollback (canaryTrafficPercent: 0), but requests still go to the latest "
                        "revision",
    "rollout-drops": "for 2 s after a host's traffic split changes, its requests are answered 503",
}
ROLLOUT_DROP_S = 2.0
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
    _changed: dict[str, float] = field(default_factory=dict)  # host -> when its traffic split last changed

    def drop_route(self) -> bool:
        return "ingress-404" in self.faults

    def traffic_changed(self, host: str) -> None:
        self._changed[host] = time.monotonic()

    def ignores_split(self, targets: Iterable[tuple[Any, Any]]) -> bool:
        """Whether the split is ignored for the latest revision (``canary-ignored``, ``rollback-ignored``)."""
        if "canary-ignored" in self.faults:
            return True
        return "rollback-ignored" in self.faults and any(t.latest and t.percent == 0 for t, _ in targets)

    async def before(self, request: web.Request) -> web.Response | None:
        self._count += 1
        changed = self._changed.get(request.host.split(":")[0].lower())
        if "rollout-drops" in self.faults and changed is not None and time.monotonic() - changed < ROLLOUT_DROP_S:
            return web.Response(status=503, text="no healthy upstream", headers={"server": "istio-envoy"})
        if "502-every" in self.faults and self._count % int(self.faults["502-every"]) == 0:
            return web.Response(status=502, text="Bad Gateway", headers={"server": "istio-envoy"})
        if "delay-every" in self.faults:
            every, _, ms = self.faults["delay-every"].partition(":")
            if self._count % int(every) == 0:
                await asyncio.sleep(float(ms) / 1000)
        path, get = request.path, request.method == "GET"
        if "ready-lies" in self.faults and get and path.startswith("/v2/models/") and path.endswith("/ready"):
            return web.Response(status=200)
        if "not-live" in self.faults and get and path.endswith("/v2/health/live"):
            return web.Response(status=503)
        if "not-ready" in self.faults and get and path.endswith("/v2/health/ready"):
            return web.Response(status=503)
        if "lists-version" in self.faults and "/versions/" in path:
            return web.json_response({"error": "model version not found"}, status=404)
        if "binary-advertised-broken" in self.faults and "Inference-Header-Content-Length" in request.headers:
            return web.json_response({"error": "binary tensor data: internal error"}, status=500)
        if "form-body-415" in self.faults and path.endswith(":predict") \
                and not request.headers.get("Content-Type", "").startswith("application/json"):
            return web.json_response({"error": "unsupported media type"}, status=415)
        return None

    def after(self, request: web.Request, path: str, status: int, body: bytes,
              headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """Rewrite the upstream answer; returns status, body and headers as the client sees them."""
        faults = self.faults.keys()
        if status >= 400 and "missing-error-body" in faults:
            return status, b"", headers
        if path.endswith("/infer") and status >= 400:
            if "error-body-text" in faults:
                text = b"Traceback (most recent call last):\n  ...\nValueError: injected\n"
                return status, text, {**headers, "Content-Type": "text/plain; charset=utf-8"}
            if "error-as-200" in faults:
                return 200, body, headers
            if "bad-input-500" in faults and status < 500:
                return 500, body, headers
        if status != 200:
            return status, body, headers
        doc_faults = {"no-id-echo", "wrong-model-name", "shape-mismatch", "batch-not-first", "health-body-false",
                      "metadata-no-extensions", "metadata-wrong-name", "lists-version",
                      "binary-advertised-broken"} & faults
        if not doc_faults:
            return status, body, headers
        doc = json.loads(body) if body else {}
        rewrite = _rewrites(path, doc_faults)
        if rewrite is None:
            return status, body, headers
        rewrite(doc)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        return status, json.dumps(doc).encode(), headers


def _rewrites(path: str, faults: set[str]) -> Callable[[dict[str, Any]], None] | None:
    """The response-body rewrite for this path under these faults, if any applies."""
    if path.endswith("/infer"):
        def infer(doc: dict[str, Any]) -> None:
            if "no-id-echo" in faults:
                doc.pop("id", None)
            if "wrong-model-name" in faults:
                doc["model_name"] = f"{doc.get('model_name', '')}-other"
            for output in doc.get("outputs", []):
                if "shape-mismatch" in faults:
                    output["shape"] = [*output.get("shape", []), 3]
                if "batch-not-first" in faults:
                    output["shape"] = [1, *output.get("shape", [])]
        return infer
    if path.startswith("/v2/health/") and "health-body-false" in faults:
        return lambda doc: doc.update({path.rsplit("/", 1)[-1]: False})
    if path.rstrip("/") == "/v2":
        def server(doc: dict[str, Any]) -> None:
            if "metadata-no-extensions" in faults:
                doc.pop("extensions", None)
            if "binary-advertised-broken" in faults:
                doc["extensions"] = [*(doc.get("extensions") or []), "binary_tensor_data"]
        return server
    if path.startswith("/v2/models/") and path.count("/") == 3:
        def model(doc: dict[str, Any]) -> None:
            if "metadata-wrong-name" in faults:
                doc["name"] = "other"
            if "lists-version" in faults:
                doc["versions"] = ["v1"]
        return model
    return None


def prune_spec(obj: Obj) -> None:
    """The ``prune-spec`` fault, applied where a real API server prunes: on admission."""
    obj.get("spec", {}).get("predictor", {}).get("model", {}).pop("storageUri", None)
