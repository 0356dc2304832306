"""The gateway's share of the faults, with the counters that make them deterministic.

A real broken ingress shows these as a client sees them: a 404 for a routed host, sporadic 502s,
a slow tail, rewritten V2 bodies. They are applied around the proxying (:meth:`before` answers
instead of the upstream, :meth:`after` rewrites the upstream's answer), so the model servers
themselves stay correct and the defect is the gateway's alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from kserve_local.faults import Component, Fault, Faults

ROLLOUT_DROP_S = 2.0
# The faults that rewrite a successful answer's JSON body.
BODY_FAULTS = frozenset(
    {
        Fault.NO_ID_ECHO,
        Fault.WRONG_MODEL_NAME,
        Fault.SHAPE_MISMATCH,
        Fault.BATCH_NOT_FIRST,
        Fault.HEALTH_BODY_FALSE,
        Fault.METADATA_NO_EXTENSIONS,
        Fault.METADATA_WRONG_NAME,
        Fault.LISTS_VERSION,
        Fault.BINARY_ADVERTISED_BROKEN,
    }
)


class WeightedTarget(Protocol):
    """What the split faults read of a traffic target (``knative.traffic.Target``)."""

    @property
    def latest(self) -> bool: ...

    @property
    def percent(self) -> int: ...


def _istio(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"server": "istio-envoy"})


@dataclass
class GatewayFaults:
    """The gateway faults the target runs with (others are ignored here)."""

    faults: dict[Fault, str] = field(default_factory=dict)
    _count: int = 0
    _changed: dict[str, float] = field(default_factory=dict)  # host -> when its traffic split last changed

    @classmethod
    def of(cls, faults: Faults) -> GatewayFaults:
        return cls({f: v for f, v in faults.items() if f.component is Component.GATEWAY})

    def drop_route(self) -> bool:
        return Fault.INGRESS_404 in self.faults

    def prefix_blind(self) -> bool:
        """Whether the endpoint picker hands out endpoints in turn (``llmisvc-picker-prefix-blind``)."""
        return Fault.LLMISVC_PICKER_PREFIX_BLIND in self.faults

    def traffic_changed(self, host: str) -> None:
        self._changed[host] = time.monotonic()

    def ignores_split(self, targets: Iterable[tuple[WeightedTarget, object]]) -> bool:
        """Whether the split is ignored for the latest revision (``canary-ignored``, ``rollback-ignored``)."""
        if Fault.CANARY_IGNORED in self.faults:
            return True
        return Fault.ROLLBACK_IGNORED in self.faults and any(t.latest and t.percent == 0 for t, _ in targets)

    async def before(self, request: web.Request) -> web.Response | None:
        """An answer instead of the upstream's, if a fault gives one for this request."""
        self._count += 1
        faults = self.faults
        changed = self._changed.get(request.host.split(":")[0].lower())
        if Fault.ROLLOUT_DROPS in faults and changed is not None and time.monotonic() - changed < ROLLOUT_DROP_S:
            return _istio(503, "no healthy upstream")
        if Fault.EVERY_502 in faults and self._count % int(faults[Fault.EVERY_502]) == 0:
            return _istio(502, "Bad Gateway")
        if Fault.DELAY_EVERY in faults:
            every, _, ms = faults[Fault.DELAY_EVERY].partition(":")
            if self._count % int(every) == 0:
                await asyncio.sleep(float(ms) / 1000)
        path, get = request.path, request.method == "GET"
        if Fault.READY_LIES in faults and get and path.startswith("/v2/models/") and path.endswith("/ready"):
            return web.Response(status=200)
        if Fault.NOT_LIVE in faults and get and path.endswith("/v2/health/live"):
            return web.Response(status=503)
        if Fault.NOT_READY in faults and get and path.endswith("/v2/health/ready"):
            return web.Response(status=503)
        if Fault.LISTS_VERSION in faults and "/versions/" in path:
            return web.json_response({"error": "model version not found"}, status=404)
        if Fault.BINARY_ADVERTISED_BROKEN in faults and "Inference-Header-Content-Length" in request.headers:
            return web.json_response({"error": "binary tensor data: internal error"}, status=500)
        if (
            Fault.FORM_BODY_415 in faults
            and path.endswith(":predict")
            and not request.headers.get("Content-Type", "").startswith("application/json")
        ):
            return web.json_response({"error": "unsupported media type"}, status=415)
        return None

    def buffers_streams(self) -> bool:
        """Whether a streamed answer is held back until it is complete (``buffer-streams``)."""
        return Fault.BUFFER_STREAMS in self.faults

    def after(self, path: str, status: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """Rewrite the upstream answer; returns status, body and headers as the client sees them."""
        faults = self.faults.keys()
        if status >= 400 and Fault.MISSING_ERROR_BODY in faults:
            return status, b"", headers
        if path.endswith("/infer") and status >= 400:
            if Fault.ERROR_BODY_TEXT in faults:
                text = b"Traceback (most recent call last):\n  ...\nValueError: injected\n"
                return status, text, {**headers, "Content-Type": "text/plain; charset=utf-8"}
            if Fault.ERROR_AS_200 in faults:
                return 200, body, headers
            if Fault.BAD_INPUT_500 in faults and status < 500:
                return 500, body, headers
        if status != 200:
            return status, body, headers
        body_faults = BODY_FAULTS & faults
        if not body_faults:
            return status, body, headers
        rewrite = _rewrites(path, body_faults)
        if rewrite is None:
            return status, body, headers
        doc = json.loads(body) if body else {}
        rewrite(doc)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        return status, json.dumps(doc).encode(), headers


def _rewrites(path: str, faults: frozenset[Fault]) -> Callable[[dict[str, Any]], None] | None:
    """The response-body rewrite for this path under these faults, if any applies."""
    if path.endswith("/infer"):

        def infer(doc: dict[str, Any]) -> None:
            if Fault.NO_ID_ECHO in faults:
                doc.pop("id", None)
            if Fault.WRONG_MODEL_NAME in faults:
                doc["model_name"] = f"{doc.get('model_name', '')}-other"
            for output in doc.get("outputs", []):
                if Fault.SHAPE_MISMATCH in faults:
                    output["shape"] = [*output.get("shape", []), 3]
                if Fault.BATCH_NOT_FIRST in faults:
                    output["shape"] = [1, *output.get("shape", [])]

        return infer
    if path.startswith("/v2/health/") and Fault.HEALTH_BODY_FALSE in faults:
        return lambda doc: doc.update({path.rsplit("/", 1)[-1]: False})
    if path.rstrip("/") == "/v2":

        def server(doc: dict[str, Any]) -> None:
            if Fault.METADATA_NO_EXTENSIONS in faults:
                doc.pop("extensions", None)
            if Fault.BINARY_ADVERTISED_BROKEN in faults:
                doc["extensions"] = [*(doc.get("extensions") or []), "binary_tensor_data"]

        return server
    if path.startswith("/v2/models/") and path.count("/") == 3:

        def model(doc: dict[str, Any]) -> None:
            if Fault.METADATA_WRONG_NAME in faults:
                doc["name"] = "other"
            if Fault.LISTS_VERSION in faults:
                doc["versions"] = ["v1"]

        return model
    return None
