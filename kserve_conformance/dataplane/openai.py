"""The OpenAI-compatible data plane: raw exchanges, streamed events, schemas, who the server is.

A generative runtime speaks the OpenAI API (``/v1/models``, ``/v1/completions``,
``/v1/chat/completions``) under a prefix that depends on the runtime: KServe's Hugging Face
runtime serves it under ``/openai``, vLLM's own server under none. The suite never assumes one:
it probes ``GET {prefix}/v1/models`` for each candidate in order and keeps the first that answers
200 with a model list (``detect_prefix``), or takes ``--kserve-openai-prefix``.

Requests are raw HTTP (``rest.DataPlane``), not the official client, so a check sees the exact
status, headers and bytes the server sent; the client's own parsing is judged by a check of its
own. Response bodies are validated against JSON Schemas extracted from the OpenAI reference into
``conformance/data/openai-schemas.yaml`` (kept equal to the reference by a self-test).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema
import requests

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane import sse
from kserve_conformance.dataplane.rest import TRANSPORT_ERRORS, DataPlane, Exchange

# Where OpenAI-compatible servers mount the API, in the order they are probed: vLLM's own server
# (the kserve-vllmserver runtime) at the root, KServe's model server (the Hugging Face runtime) under
# KSERVE_OPENAI_ROUTE_PREFIX, "/openai" by default.
PREFIX_CANDIDATES = ("", "/openai")


@dataclass(frozen=True)
class PrefixProbe:
    """The prefix chosen and every probe made to choose it, in order, for the report."""

    prefix: str | None
    tried: tuple[tuple[str, str], ...]  # (prefix, what GET {prefix}/v1/models answered)
    given: bool = False

    def describe(self) -> str:
        if self.given:
            return f"prefix {self.prefix!r} given with --kserve-openai-prefix"
        probes = ", ".join(f"{p or '(none)'}: {answer}" for p, answer in self.tried)
        return f"GET {{prefix}}/v1/models probed in order: {probes}"


def detect_prefix(dataplane: DataPlane, candidates: tuple[str, ...] = PREFIX_CANDIDATES) -> PrefixProbe:
    """The first candidate under which ``GET /v1/models`` answers 200 with ``"object": "list"``."""
    tried: list[tuple[str, str]] = []
    for prefix in candidates:
        try:
            exchange = dataplane.get(f"{prefix}/v1/models")
        except TRANSPORT_ERRORS as err:
            tried.append((prefix, f"transport error {err.__class__.__name__}"))
            continue
        doc = _json_or_none(exchange.response_body)
        listed = exchange.status == 200 and isinstance(doc, dict) and doc.get("object") == "list"
        tried.append((prefix, f"{exchange.status}{' with a model list' if listed else ''}"))
        if listed:
            return PrefixProbe(prefix, tuple(tried))
    return PrefixProbe(None, tuple(tried))


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class OpenAIPlane:
    """One OpenAI-compatible server behind a data plane, under its prefix."""

    dataplane: DataPlane
    prefix: str
    model: str
    probe: PrefixProbe | None = None
    _identity: list[dict[str, str] | None] = field(default_factory=list)

    def get(self, path: str) -> Exchange:
        return self.dataplane.get(f"{self.prefix}{path}")

    def post(self, path: str, doc: Any) -> Exchange:
        return self.dataplane.post_json(f"{self.prefix}{path}", doc)

    def post_raw(self, path: str, body: bytes, content_type: str = "application/json") -> Exchange:
        return self.dataplane.request("POST", f"{self.prefix}{path}", body, {"Content-Type": content_type})

    def stream(self, path: str, doc: Any) -> StreamExchange:
        """POST and read the body as server-sent events, timing each event from the intended send."""
        url = f"{self.dataplane.base_url}{self.dataplane.path_prefix}{self.prefix}{path}"
        # The data plane's own headers too (a model-routing header), as its non-streaming requests send them.
        headers = {**self.dataplane.headers, "Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.dataplane.host:
            headers["Host"] = self.dataplane.host
        body = json.dumps(doc).encode()
        start = time.monotonic()
        with self.dataplane.session.post(
            url, data=body, headers=headers, stream=True, timeout=self.dataplane.timeout_s
        ) as response:
            result = sse.EventStream(response.status_code, dict(response.headers))
            raw: list[bytes] = []
            timed: list[tuple[str, float]] = []

            def chunks() -> Any:
                for chunk in response.iter_content(chunk_size=None):
                    if chunk:
                        if result.first_byte_s is None:
                            result.first_byte_s = time.monotonic() - start
                        raw.append(chunk)
                        yield chunk

            try:
                for line, at, _ in sse.lines_with_times(chunks(), start):
                    timed.append((line, at))
            except requests.RequestException as err:
                timed.append((f": transport error while reading the stream: {err.__class__.__name__}", 0.0))
            result.end_s = time.monotonic() - start
        result.raw = b"".join(raw)
        result.events, result.trailing = sse.parse(timed)
        return StreamExchange("POST", url, headers, body, result)

    def identity(self) -> dict[str, str] | None:
        """Who the server says it is (name, version), for known deviations; ``None`` if it does not say.

        vLLM answers ``GET /version`` with ``{"version": ...}``; KServe's model server answers
        ``GET /v2`` (the Open Inference Protocol's server metadata) with its name and version. Both
        at the server root, not under the OpenAI prefix.
        """
        if not self._identity:
            models = _get_json(self.dataplane, f"{self.prefix}/v1/models")
            owners = (
                {m.get("owned_by") for m in models.get("data", []) if isinstance(m, dict)}
                if isinstance(models, dict) and isinstance(models.get("data"), list)
                else set()
            )
            self._identity.append(server_identity(self.dataplane, owners))
        return self._identity[0]

    def describe_prefix(self) -> str:
        return self.probe.describe() if self.probe else f"prefix {self.prefix!r}"


def server_identity(dataplane: DataPlane, owners: set[Any]) -> dict[str, str] | None:
    """``{"name", "version"}``: vLLM by ``GET /version`` and the ``owned_by`` it writes in the model
    list (another server may answer ``/version`` too), KServe's model server by ``GET /v2``."""
    with_version = _get_json(dataplane, "/version")
    if isinstance(with_version, dict) and isinstance(with_version.get("version"), str) and owners == {"vllm"}:
        return {"name": "vllm", "version": with_version["version"]}
    metadata = _get_json(dataplane, "/v2")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return {"name": metadata["name"], "version": str(metadata.get("version", ""))}
    return None


def _get_json(dataplane: DataPlane, path: str) -> Any:
    try:
        exchange = dataplane.get(path)
    except TRANSPORT_ERRORS:
        return None
    return _json_or_none(exchange.response_body) if exchange.status == 200 else None


@dataclass(frozen=True)
class StreamExchange:
    """A streamed request and its events, kept whole for the report."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    stream: sse.EventStream

    def chunks(self) -> list[Any]:
        """The JSON documents of the data events before ``[DONE]``; a non-JSON event is an AssertionError."""
        docs = []
        for i, event in enumerate(self.stream.data_events()):
            try:
                docs.append(json.loads(event.data))
            except ValueError:
                raise AssertionError(f"event {i} of the stream is not JSON: {event.data[:200]!r}") from None
        return docs

    def describe(self) -> str:
        return (
            f"{self.method} {self.url} → {self.stream.status} {self.stream.content_type() or 'no content type'}, "
            f"{len(self.stream.events)} events"
        )


# --- schemas ---------------------------------------------------------------------------------


@cache
def schemas() -> dict[str, Any]:
    table: dict[str, Any] = load_yaml(DATA / "openai-schemas.yaml")["schemas"]
    return table


def _json_schema(schema: Any) -> Any:
    """The OpenAPI 3.0 schema as JSON Schema: inline ``$ref: "#/Name"``, turn ``nullable`` into a null type."""
    if isinstance(schema, list):
        return [_json_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/")
        return _json_schema(schemas()[name]) if name in schemas() else {}
    out = {k: _json_schema(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _drop_null_optionals(doc: Any, schema: Mapping[str, Any]) -> Any:
    """Optional fields sent as ``null`` are absent: servers built on pydantic serialise unset fields so."""
    if isinstance(doc, dict) and (schema.get("type") == "object" or "properties" in schema):
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return {k: _drop_null_optionals(v, props.get(k, {})) for k, v in doc.items() if v is not None or k in required}
    if isinstance(doc, list) and isinstance(schema.get("items"), dict):
        return [_drop_null_optionals(v, schema["items"]) for v in doc]
    return doc


def schema_problems(doc: Any, name: str, chunk: bool = False) -> list[str]:
    """What is wrong with ``doc`` as the reference's schema ``name``; empty when it conforms.

    ``chunk``: ``doc`` is a stream chunk of a completion. The reference gives streamed and
    non-streamed completions "the same shape", whose ``finish_reason`` ("The reason the model
    stopped generating tokens") is required; a chunk sent before the model stopped has no reason
    yet, so there a null (or absent) ``finish_reason`` is accepted. The chat stream's chunk
    schema says so itself (``nullable``).
    """
    schema = _json_schema(schemas()[name])
    if chunk:
        schema = _finish_reason_optional(schema)
    cleaned = _drop_null_optionals(doc, schema)
    problems = []
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(cleaned), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "<body>"
        problems.append(f"{where}: {error.message[:200]}")
    return problems


def _finish_reason_optional(schema: dict[str, Any]) -> dict[str, Any]:
    choice = schema.get("properties", {}).get("choices", {}).get("items")
    if not isinstance(choice, dict) or "finish_reason" not in choice.get("required", []):
        return schema
    relaxed = {**choice, "required": [r for r in choice["required"] if r != "finish_reason"]}
    choices = {**schema["properties"]["choices"], "items": relaxed}
    return {**schema, "properties": {**schema["properties"], "choices": choices}}


def body_json(exchange: Exchange) -> tuple[Any, str | None]:
    """The body as JSON, or what is wrong with it in words a report can show."""
    if not exchange.response_body:
        return None, f"{exchange.status} with an empty body"
    try:
        return json.loads(exchange.response_body), None
    except ValueError:
        kind = next((v for k, v in exchange.response_headers.items() if k.lower() == "content-type"), "none")
        text = exchange.response_body.decode(errors="replace").strip()[:200]
        return None, f"{exchange.status} with a body that is not JSON (content type {kind}): {text!r}"


def error_object_problem(exchange: Exchange) -> str | None:
    """Why an error answer's body is not the reference's ``ErrorResponse``; ``None`` if it is."""
    doc, problem = body_json(exchange)
    if problem:
        return problem
    problems = schema_problems(doc, "ErrorResponse")
    if problems:
        return (
            f"{exchange.status} with {json.dumps(doc)[:300]}, not the error object "
            f'{{"error": {{"message", "type", "param", "code"}}}}: {"; ".join(problems)}'
        )
    return None


# --- the answer's model ----------------------------------------------------------------------

# A more specific name of the requested model: the requested name, a separator, then a version
# that starts with a digit (OpenAI's dated snapshots: gpt-4o -> gpt-4o-2024-08-06). A suffix that
# starts with a letter names another model (gpt-4o -> gpt-4o-mini) and does not conform.
_VERSION_SUFFIX = re.compile(r"[-@:.]\d[\w.:-]*")


def names_model(requested: str, answered: Any) -> bool:
    """Whether the response's ``model`` names the requested model (itself or a dated snapshot of it)."""
    if not isinstance(answered, str):
        return False
    if answered == requested:
        return True
    return answered.startswith(requested) and _VERSION_SUFFIX.fullmatch(answered[len(requested) :]) is not None
