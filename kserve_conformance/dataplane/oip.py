"""Open Inference Protocol (V2) helpers: response schemas, tensor arithmetic, known deviations.

Response bodies are validated against JSON Schemas kept as data (``conformance/data/
oip-schemas.yaml``, mirrored from the protocol's OpenAPI and checked against it by a self-test)
rather than by hand-written field checks, so a new field rule is a data change.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import pytest

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.checks.spec import CORE, Check

# The name servers list in GET /v2 "extensions" for the binary tensor data extension (Triton's).
BINARY_EXTENSION = "binary_tensor_data"


@cache
def schemas() -> dict[str, Any]:
    table: dict[str, Any] = load_yaml(DATA / "oip-schemas.yaml")
    return table


def _resolve(schema: Any) -> Any:
    """Inline ``$ref: "#/name"`` references to sibling schemas of the data file."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolve(schemas()[schema["$ref"].removeprefix("#/")])
        return {k: _resolve(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolve(v) for v in schema]
    return schema


def _drop_null_optionals(doc: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(doc, dict) and schema.get("type") == "object":
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return {k: _drop_null_optionals(v, props.get(k, {})) for k, v in doc.items() if v is not None or k in required}
    if isinstance(doc, list) and isinstance(schema.get("items"), dict):
        return [_drop_null_optionals(v, schema["items"]) for v in doc]
    return doc


def schema_problems(doc: Any, name: str) -> list[str]:
    """What is wrong with ``doc`` as the named OIP schema; empty when it conforms."""
    schema = _resolve(schemas()[name])
    cleaned = _drop_null_optionals(doc, schema)
    problems = []
    for error in jsonschema.Draft7Validator(schema).iter_errors(cleaned):
        where = ".".join(str(p) for p in error.absolute_path) or "<body>"
        problems.append(f"{where}: {error.message}")
    return problems


def body_json(status: int, headers: Mapping[str, str], body: bytes) -> tuple[Any, str | None]:
    """The body as JSON, or ``None`` and what is wrong with it, in words a report can show.

    A server that answers with a traceback in ``text/plain`` must fail a check by name, not
    crash it with a ``JSONDecodeError``.
    """
    if not body:
        return None, f"{status} with an empty body"
    try:
        return json.loads(body), None
    except ValueError:
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "no content type")
        last = body.decode(errors="replace").strip().splitlines()[-1][:200]
        return None, f"{status} with a body that is not JSON ({kind}): ...{last}"


def error_body_problem(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why an error response is not the spec's ``$inference_error_response``; ``None`` if it is."""
    doc, problem = body_json(status, headers, body)
    if problem:
        return problem
    problems = schema_problems(doc, "inference_error_response")
    return f'{status} with {json.dumps(doc)[:300]}, not {{"error": "..."}}' if problems else None


def flatten(data: Any) -> Iterator[Any]:
    """Tensor data may be nested row-major or flat; the protocol allows both."""
    if isinstance(data, list):
        for item in data:
            yield from flatten(item)
    else:
        yield data


def element_count(shape: list[int]) -> int:
    return math.prod(shape)


def encode_fp32(values: list[float]) -> bytes:
    """Little-endian FP32, as the binary tensor extension carries it."""
    return struct.pack(f"<{len(values)}f", *values)


@dataclass(frozen=True)
class Deviation:
    check: str
    server: str
    versions: tuple[str, ...]
    reason: str
    spec: str
    case: str | None = None
    issue: str = ""


@cache
def deviations() -> tuple[Deviation, ...]:
    return tuple(
        Deviation(
            d["check"], d["server"], tuple(d["versions"]), d["reason"], d["spec"], d.get("case"), d.get("issue") or ""
        )
        for d in load_yaml(DATA / "known-deviations.yaml")
    )


def apply_known_deviation(
    request: pytest.FixtureRequest, check: Check, server: Mapping[str, Any] | None, case: str | None = None
) -> None:
    """Turn the running check into a strict expected failure if this server has a known deviation.

    Strict: should the server be fixed, the check passes unexpectedly and the run fails, which is
    the prompt to delete the entry. Core checks can never be excused.
    """
    if server is None:
        return
    name, version = str(server.get("name", "")), str(server.get("version", ""))
    for d in deviations():
        same_version = any(version == v or version.startswith(f"{v}.") for v in d.versions)
        if d.check == check.name and d.server == name and same_version and d.case in (None, case):
            if check.level == CORE:
                raise ValueError(f"known-deviations.yaml lists core check {check.name}: core checks cannot deviate")
            request.node.add_marker(
                pytest.mark.xfail(
                    reason=f"{KNOWN_DEVIATION} {name} {version}: {d.reason} (spec: {d.spec!r})", strict=True
                )
            )
            return


KNOWN_DEVIATION = "known deviation of"
