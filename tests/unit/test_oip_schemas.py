"""The suite's OIP response schemas agree with the upstream OpenAPI, or say where they differ.

``conformance/data/oip-schemas.yaml`` is what the checks validate against; the product cannot
read ``../shared`` at run time, so it keeps its own copy, and this test is what keeps that copy
honest: every schema exists upstream, requires what upstream requires, plus only the additions
it declares with the spec sentence behind them, and types its properties as upstream does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance.dataplane import oip


def upstream(reference: Path) -> dict[str, Any]:
    doc = yaml.safe_load((reference / "open-inference-protocol" / "open_inference_rest.yaml").read_text())
    return doc["components"]["schemas"]


def resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return resolve(schemas[ref.rsplit("/", 1)[-1]], schemas) if ref else schema


def differences(name: str, ours_all: dict[str, Any], theirs_all: dict[str, Any]) -> list[str]:
    """How the suite's schema ``name`` departs from upstream, beyond its declared additions."""
    if name not in theirs_all:
        return [f"{name} is not a schema of the upstream OpenAPI"]
    ours, theirs = ours_all[name], theirs_all[name]
    found = []
    additions = ours.get("x-spec-additions", {})
    if additions and not (additions.get("spec") and additions.get("source")):
        found.append(f"{name}: an addition must quote the spec and name its source")
    want = set(theirs.get("required", [])) | set(additions.get("required", []))
    if set(ours.get("required", [])) != want:
        found.append(
            f"{name}: requires {sorted(ours.get('required', []))}, upstream "
            f"{sorted(theirs.get('required', []))} plus declared additions {additions.get('required', [])}"
        )
    if ours.get("type") != theirs.get("type"):
        found.append(f"{name}: type {ours.get('type')} vs upstream {theirs.get('type')}")
    for prop, schema in ours.get("properties", {}).items():
        if prop not in theirs.get("properties", {}):
            found.append(f"{name}.{prop} is not in the upstream schema")
            continue
        expected = resolve(theirs["properties"][prop], theirs_all).get("type")
        actual = ours_all[schema["$ref"].removeprefix("#/")].get("type") if "$ref" in schema else schema.get("type")
        if actual != expected:
            found.append(f"{name}.{prop}: type {actual} vs upstream {expected}")
    return found


@pytest.mark.parametrize("name", sorted(oip.schemas()))
def test_schema_agrees_with_the_upstream_openapi(reference: Path, name: str) -> None:
    assert differences(name, oip.schemas(), upstream(reference)) == []


def test_every_upstream_response_schema_is_validated(reference: Path) -> None:
    """The response objects a check reads must all be here (requests and parameters are not judged)."""
    responses = {n for n in upstream(reference) if n.endswith("_response") and "error" not in n} | {
        "inference_error_response"
    }
    assert responses <= set(oip.schemas()), sorted(responses - set(oip.schemas()))


@pytest.mark.parametrize(
    ("drift", "words"),
    [
        ({"required": ["name", "version"]}, "requires ['name', 'version']"),
        ({"x-spec-additions": {"required": ["name"]}}, "an addition must quote the spec"),
        (
            {"properties": {"name": {"type": "integer"}}},
            "metadata_server_response.name: type integer vs upstream string",
        ),
        ({"properties": {"vendor": {"type": "string"}}}, "vendor is not in the upstream schema"),
    ],
)
def test_a_drifted_schema_is_caught(reference: Path, drift: dict[str, Any], words: str) -> None:
    ours = dict(oip.schemas())
    ours["metadata_server_response"] = ours["metadata_server_response"] | drift
    found = differences("metadata_server_response", ours, upstream(reference))
    assert any(words in f for f in found), found
