"""The conversion check's data and arithmetic: the version-only fields are the CRDs', and the
comparisons name what differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kserve_conformance.cluster import llmisvc_conversion as conversion


def schema_paths(schema: dict[str, Any], path: str = "") -> set[str]:
    found: set[str] = set()
    for key, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        found |= {here} | schema_paths(sub, here)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        found |= schema_paths(schema["items"], f"{path}[]")
    return found


def outermost(paths: set[str]) -> set[str]:
    return {p for p in paths if not any(p.startswith((f"{q}.", f"{q}[")) for q in paths if q != p)}


def test_the_version_only_fields_are_the_crds(reference: Path) -> None:
    crd = yaml.safe_load((reference / "kserve/crd/llmisvc/serving.kserve.io_llminferenceservices.yaml").read_text())
    paths = {v["name"]: schema_paths(v["schema"]["openAPIV3Schema"]) for v in crd["spec"]["versions"]}
    fields = {v: {p for p in conversion.RULES[f"{v}_only"] if not p.startswith("metadata.")} for v in paths}
    shape_changed = fields["v1alpha1"] & fields["v1alpha2"]  # in both schemas, another shape in each
    assert outermost(paths["v1alpha1"] - paths["v1alpha2"]) == fields["v1alpha1"] - shape_changed
    assert (
        outermost(paths["v1alpha2"] - paths["v1alpha1"])
        - {p for p in paths["v1alpha2"] if any(p.startswith(f"{s}.") for s in shape_changed)}
        == fields["v1alpha2"] - shape_changed
    )
    assert all(p in paths["v1alpha1"] and p in paths["v1alpha2"] for p in shape_changed)


V2: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1alpha2",
    "metadata": {"name": "m", "labels": {"a": "b"}, "resourceVersion": "7"},
    "spec": {"model": {"name": "opt"}},
    "status": {"url": "http://x", "addresses": [{"name": "gw", "url": "http://x", "origin": {"name": "g"}}]},
}
V1: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "metadata": {"name": "m", "labels": {"a": "b"}, "resourceVersion": "7"},
    "spec": {"model": {"name": "opt"}},
    "status": {"url": "http://x", "addresses": [{"name": "gw", "url": "http://x"}]},
}


def test_reads_that_differ_only_in_version_only_fields_agree() -> None:
    assert conversion.disagreements(V1, V2) == []


def test_a_shared_field_lost_in_one_version_is_named_with_both_values() -> None:
    lossy = {**V1, "metadata": {"name": "m", "resourceVersion": "7"}}
    assert conversion.disagreements(lossy, V2) == ["metadata.labels.a: v1alpha2 has 'b', v1alpha1 has nothing"]


def test_a_round_trip_that_drops_a_v1alpha2_only_field_is_named() -> None:
    after = {**V2, "metadata": {**V2["metadata"], "resourceVersion": "8"}, "status": V1["status"]}
    assert conversion.lost(V2, after) == ["status.addresses[0].origin.name was 'g', now nothing"]


def test_the_lossy_webhook_fault_loses_the_labels_of_a_v1alpha1_read_and_write() -> None:
    """The control's fault (``llmisvc-conversion-lossy``): the service's v1alpha1 view only, configs untouched."""
    from kserve_local.apiserver.resources import CONVERTED
    from kserve_local.faults import Fault
    from kserve_local.llmisvc import conversion as local

    assert local.webhook(CONVERTED, {}) == dict(CONVERTED)
    lossy = {
        view.kind: convert for view, convert in local.webhook(CONVERTED, {Fault.LLMISVC_CONVERSION_LOSSY: ""}).items()
    }
    _, to_view, to_stored = lossy["LLMInferenceService"]
    shown = to_view(V2)
    assert "labels" not in shown["metadata"]
    assert "labels" not in to_stored(shown)["metadata"]
    assert lossy["LLMInferenceServiceConfig"][1] is local.to_v1alpha1
