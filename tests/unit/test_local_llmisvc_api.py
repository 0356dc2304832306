"""LLMInferenceService's two served versions on the local API server, through the kubernetes client.

Stored as v1alpha2, served as v1alpha1 too: every verb through either version reads and writes
the one stored object, converted, as kube-apiserver does with KServe's conversion webhook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from kubernetes import client

from kserve_local.llmisvc.conversion import CRITICALITY
from tests.unit.loopback_apiserver import loopback_api

G, P = "serving.kserve.io", "llminferenceservices"
NS = "llm-demo"


def v1alpha1(name: str) -> dict[str, object]:
    return {
        "apiVersion": f"{G}/v1alpha1",
        "kind": "LLMInferenceService",
        "metadata": {"name": name},
        "spec": {"model": {"uri": "hf://facebook/opt-125m", "name": "facebook/opt-125m", "criticality": "Critical"}},
    }


@pytest.fixture(scope="module")
def api() -> Iterator[client.CustomObjectsApi]:
    with loopback_api() as api_client:
        client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NS}})
        yield client.CustomObjectsApi(api_client)


def test_written_as_v1alpha1_read_as_either(api: client.CustomObjectsApi) -> None:
    created = api.create_namespaced_custom_object(G, "v1alpha1", NS, P, v1alpha1("a"))
    assert created["apiVersion"] == f"{G}/v1alpha1" and created["spec"]["model"]["criticality"] == "Critical"
    stored = api.get_namespaced_custom_object(G, "v1alpha2", NS, P, "a")
    assert stored["apiVersion"] == f"{G}/v1alpha2"
    assert "criticality" not in stored["spec"]["model"] and stored["metadata"]["annotations"][CRITICALITY] == "Critical"
    listed = api.list_namespaced_custom_object(G, "v1alpha1", NS, P)
    assert [i["apiVersion"] for i in listed["items"]] == [f"{G}/v1alpha1"]


def test_patch_replace_and_apply_through_v1alpha1_change_the_stored_object(api: client.CustomObjectsApi) -> None:
    api.create_namespaced_custom_object(G, "v1alpha2", NS, P, {**v1alpha1("b"), "apiVersion": f"{G}/v1alpha2"})
    patched = api.patch_namespaced_custom_object(G, "v1alpha1", NS, P, "b", {"spec": {"replicas": 2}})
    assert patched["apiVersion"] == f"{G}/v1alpha1" and patched["metadata"]["generation"] == 2
    current = api.get_namespaced_custom_object(G, "v1alpha1", NS, P, "b")
    current["spec"]["model"]["criticality"] = "Sheddable"
    api.replace_namespaced_custom_object(G, "v1alpha1", NS, P, "b", current)
    stored = api.get_namespaced_custom_object(G, "v1alpha2", NS, P, "b")
    assert stored["spec"]["replicas"] == 2 and stored["metadata"]["annotations"][CRITICALITY] == "Sheddable"
    applied = {
        "apiVersion": f"{G}/v1alpha1",
        "kind": "LLMInferenceService",
        "metadata": {"name": "b"},
        "spec": {"replicas": 3},
    }
    response = requests.patch(
        f"{api.api_client.configuration.host}/apis/{G}/v1alpha1/namespaces/{NS}/{P}/b",
        params={"fieldManager": "test", "force": "true"},
        headers={"Content-Type": "application/apply-patch+yaml"},
        data=json.dumps(applied),
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["apiVersion"] == f"{G}/v1alpha1", response.text
    assert api.get_namespaced_custom_object(G, "v1alpha2", NS, P, "b")["spec"]["replicas"] == 3


def test_deleted_through_v1alpha1(api: client.CustomObjectsApi) -> None:
    api.create_namespaced_custom_object(G, "v1alpha1", NS, P, v1alpha1("c"))
    gone = api.delete_namespaced_custom_object(G, "v1alpha1", NS, P, "c")
    assert gone["apiVersion"] == f"{G}/v1alpha1"
    with pytest.raises(client.ApiException) as missing:
        api.get_namespaced_custom_object(G, "v1alpha2", NS, P, "c")
    assert missing.value.status == 404


def test_discovery_prefers_the_newest_stable_version(api: client.CustomObjectsApi) -> None:
    groups = requests.get(f"{api.api_client.configuration.host}/apis", timeout=30).json()["groups"]
    serving = next(g for g in groups if g["name"] == G)
    assert [v["version"] for v in serving["versions"]] == ["v1beta1", "v1alpha2", "v1alpha1"]
    assert serving["preferredVersion"]["version"] == "v1beta1"
