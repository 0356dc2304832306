"""The suite's OpenAI response schemas are the reference's, pruned to what a validator reads.

``conformance/data/openai-schemas.yaml`` is what the openai checks validate against; the suite
cannot read ``../shared`` at run time, so it keeps its own extract of the OpenAI reference
(``openai/openapi.yaml``). This test recomputes the extract from the reference and requires it
to be equal: a schema the suite judges by is the reference's, word for word, minus prose.

The extract keeps, per named schema, only what decides validity (type, required, properties,
items, enum, anyOf/oneOf/allOf, nullable, additionalProperties); a ``$ref`` to a schema that is
not extracted becomes ``{}`` (anything), so the suite never rejects what it does not judge.
``KSERVE_CONFORMANCE_WRITE_SCHEMAS=1`` rewrites the data file from the reference.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance.checks.catalog import DATA
from kserve_conformance.dataplane import openai

KEPT = (
    "type",
    "required",
    "properties",
    "items",
    "enum",
    "anyOf",
    "oneOf",
    "allOf",
    "nullable",
    "additionalProperties",
)
REF = "#/components/schemas/"
HEADER = """\
# The OpenAI reference's response schemas the openai checks validate against, extracted from
# openai/openapi.yaml (components.schemas) by tests/unit/test_openai_schemas.py, which keeps this
# file equal to the reference (KSERVE_CONFORMANCE_WRITE_SCHEMAS=1 rewrites it). Only what decides
# validity is kept; a $ref to a schema not listed here is {} (not judged). Extra fields a server
# adds (vLLM's stop_reason, token_ids, ...) are allowed: the reference does not forbid them.
"""


def upstream(reference: Path) -> dict[str, Any]:
    doc = yaml.safe_load((reference / "openai" / "openapi.yaml").read_text())
    return doc["components"]["schemas"]


def prune(schema: Any, names: set[str]) -> Any:
    if isinstance(schema, list):
        return [prune(v, names) for v in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF)
        return {"$ref": f"#/{name}"} if name in names else {}
    out: dict[str, Any] = {}
    for key in KEPT:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties":
            out[key] = {p: prune(v, names) for p, v in value.items()}
        elif key in ("type", "required", "enum", "nullable") or isinstance(value, bool):
            out[key] = value
        else:
            out[key] = prune(value, names)
    return out


def extract(reference: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: prune(reference[name], set(names)) for name in names}


def test_the_extract_equals_the_reference(reference: Path) -> None:
    ours = openai.schemas()
    theirs = extract(upstream(reference), list(ours))
    if os.environ.get("KSERVE_CONFORMANCE_WRITE_SCHEMAS") == "1":
        text = HEADER + yaml.safe_dump({"schemas": theirs}, sort_keys=False, width=120)
        (DATA / "openai-schemas.yaml").write_text(text)
        openai.schemas.cache_clear()
        ours = openai.schemas()
    differ = sorted(n for n in ours if ours[n] != theirs[n])
    assert not differ, (
        f"schemas that differ from the reference (rewrite with KSERVE_CONFORMANCE_WRITE_SCHEMAS=1): {differ}"
    )


def test_every_schema_a_check_names_is_extracted() -> None:
    needed = {
        "ListModelsResponse",
        "Model",
        "CreateCompletionResponse",
        "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse",
        "CompletionUsage",
        "ErrorResponse",
        "Error",
    }
    assert needed <= set(openai.schemas()), sorted(needed - set(openai.schemas()))


@pytest.mark.parametrize(
    ("doc", "name", "words"),
    [
        (
            {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "x"}]},
            "ListModelsResponse",
            "created",
        ),
        ({"error": "no such model"}, "ErrorResponse", "error: 'no such model' is not of type 'object'"),
        ({"error": {"message": "m", "type": "t", "param": None, "code": 404}}, "ErrorResponse", "404 is not valid"),
    ],
)
def test_a_bad_document_is_named(doc: Any, name: str, words: str) -> None:
    problems = openai.schema_problems(doc, name)
    assert any(words in p for p in problems), problems
