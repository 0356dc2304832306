"""The API machinery modules on their own: protobuf envelopes, field sets, apply and strategic merge."""

from __future__ import annotations

import pytest

from kserve_local.apiserver import apply, protobuf
from kserve_local.apiserver.merge import ListTypes, Rules, merge
from kserve_local.apiserver.resources import INFERENCESERVICES, RESOURCES, load_schema
from kserve_local.apiserver.store import ApiError
from tests.conftest import ISVC_CRD

PODS = next(r for r in RESOURCES if r.key == "pods")


def field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_namespace_with_labels() -> None:
    label = field(1, b"team") + field(2, b"serving")
    meta = field(1, b"ns1") + field(11, label)
    body = protobuf.MAGIC + field(1, field(1, b"v1") + field(2, b"Namespace")) + field(2, field(1, meta))
    assert protobuf.decode(body) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns1", "labels": {"team": "serving"}},
    }


def test_protobuf_without_magic_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as err:
        protobuf.decode(b'{"kind": "Namespace"}')
    assert err.value.code == 400
    assert "magic" in err.value.message


def test_field_sets_use_list_keys_from_the_real_crd() -> None:
    lt = ListTypes(INFERENCESERVICES, load_schema(ISVC_CRD))
    spec = {"spec": {"predictor": {"model": {"env": [{"name": "WORKERS", "value": "2"}]}}}}
    paths = apply.field_set(spec, lt)
    item = 'k:{"name":"WORKERS"}'
    assert ("f:spec", "f:predictor", "f:model", "f:env", item, ".") in paths
    assert ("f:spec", "f:predictor", "f:model", "f:env", item, "f:value") in paths
    assert apply.flatten(apply.nest(paths)) == paths


def test_atomic_lists_are_one_field() -> None:
    """Negative control: lists the CRD marks atomic (or leaves unmarked) are owned whole."""
    lt = ListTypes(INFERENCESERVICES, load_schema(ISVC_CRD))
    paths = apply.field_set({"spec": {"predictor": {"model": {"args": ["--a"]}, "containers": [{"name": "c"}]}}}, lt)
    assert paths == {("f:spec", "f:predictor", "f:model", "f:args"), ("f:spec", "f:predictor", "f:containers")}


def test_apply_conflict_carries_causes() -> None:
    lt = ListTypes(INFERENCESERVICES, None)
    first = apply.server_side_apply(
        None, {"spec": {"predictor": {"minReplicas": 1}}}, "a", False, INFERENCESERVICES, lt
    )
    with pytest.raises(ApiError) as err:
        apply.server_side_apply(first, {"spec": {"predictor": {"minReplicas": 2}}}, "b", False, INFERENCESERVICES, lt)
    assert err.value.code == 409
    assert err.value.status()["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "a"', "field": ".spec.predictor.minReplicas"}
    ]
    same = apply.server_side_apply(
        first, {"spec": {"predictor": {"minReplicas": 1}}}, "b", False, INFERENCESERVICES, lt
    )
    assert {e["manager"] for e in same["metadata"]["managedFields"]} == {"a", "b"}  # same value: co-owned


def test_strategic_merge_keyed_and_set_lists() -> None:
    lt = ListTypes(PODS, None)
    pod = {"metadata": {"finalizers": ["x"]}, "spec": {"containers": [{"name": "a", "image": "1"}]}}
    patch = {
        "metadata": {"finalizers": ["y"]},
        "spec": {
            "containers": [{"name": "a", "image": "2"}, {"name": "b", "image": "3"}],
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        },
    }
    merged = merge(pod, patch, Rules.strategic(lt))
    assert merged["spec"]["containers"] == [{"name": "a", "image": "2"}, {"name": "b", "image": "3"}]
    assert merged["metadata"]["finalizers"] == ["x", "y"]
    assert "$setElementOrder/containers" not in merged["spec"]
    removed = merge(merged, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}, Rules.strategic(lt))
    assert removed["metadata"]["finalizers"] == ["y"]


def test_default_field_manager_is_the_user_agent_program() -> None:
    assert apply.default_manager("kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722") == "kubectl"
