"""The local API server, driven by the official kubernetes client exactly as the suite drives clusters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from kserve_local.apiserver.resources import INFERENCESERVICES, RESOURCES, isvc_validator, load_schema
from kserve_local.apiserver.store import Store
from tests.unit.loopback_apiserver import loopback_api

G, V, P = "serving.kserve.io", "v1beta1", "inferenceservices"
TUTORIAL = {
    "apiVersion": f"{G}/{V}",
    "kind": "InferenceService",
    "metadata": {"name": "sklearn-iris"},
    "spec": {
        "predictor": {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model",
            }
        }
    },
}


@pytest.fixture(scope="module")
def api(reference: Path) -> Iterator[client.ApiClient]:
    """A store + API server on a loopback port, in its own event loop thread."""

    def store() -> Store:
        made = Store(RESOURCES)
        crd = reference / "kserve" / "crd" / "serving.kserve.io_inferenceservices.yaml"
        made.validators[INFERENCESERVICES.key] = isvc_validator(load_schema(crd))
        return made

    with loopback_api(store) as api_client:
        yield api_client


@pytest.fixture
def ns(api: client.ApiClient, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("_", "-")[:50].lower()
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def isvc(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def test_create_sets_server_fields(api: client.ApiClient, ns: str) -> None:
    created = isvc(api).create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    meta = created["metadata"]
    assert meta["namespace"] == ns
    assert meta["generation"] == 1
    assert meta["uid"]
    assert meta["resourceVersion"]
    assert meta["creationTimestamp"].endswith("Z")
    assert "status" not in created


def test_duplicate_create_is_a_conflict(api: client.ApiClient, ns: str) -> None:
    isvc(api).create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    with pytest.raises(ApiException) as err:
        isvc(api).create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    assert err.value.status == 409


def test_missing_namespace_is_not_found(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        isvc(api).create_namespaced_custom_object(G, V, "no-such-namespace", P, TUTORIAL)
    assert err.value.status == 404
    assert "no-such-namespace" in err.value.body


def test_real_crd_schema_rejects_invalid_spec(api: client.ApiClient, ns: str) -> None:
    bad = {**TUTORIAL, "spec": {"predictor": {"minReplicas": "two", "model": TUTORIAL["spec"]["predictor"]["model"]}}}
    with pytest.raises(ApiException) as err:
        isvc(api).create_namespaced_custom_object(G, V, ns, P, bad)
    assert err.value.status == 422
    assert "spec.predictor.minReplicas" in err.value.body


def test_name_must_be_a_dns_subdomain(api: client.ApiClient, ns: str) -> None:
    """The API server's own rule for every object; KServe's stricter DNS-1035 one is its webhook's
    (tests/unit/test_kserve_webhooks.py)."""
    bad = {**TUTORIAL, "metadata": {"name": "Iris_1"}}
    with pytest.raises(ApiException) as err:
        isvc(api).create_namespaced_custom_object(G, V, ns, P, bad)
    assert err.value.status == 422
    assert "a lowercase RFC 1123 subdomain must consist of" in err.value.body


def test_status_subresource_is_separate_and_generation_tracks_spec(api: client.ApiClient, ns: str) -> None:
    custom = isvc(api)
    custom.create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    custom.patch_namespaced_custom_object_status(G, V, ns, P, "sklearn-iris", {"status": {"url": "http://x"}})
    after_status = custom.get_namespaced_custom_object(G, V, ns, P, "sklearn-iris")
    assert after_status["status"] == {"url": "http://x"}
    assert after_status["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object(
        G, V, ns, P, "sklearn-iris", {"status": {"url": "ignored"}, "spec": {"predictor": {"minReplicas": 2}}}
    )
    after_spec = custom.get_namespaced_custom_object(G, V, ns, P, "sklearn-iris")
    assert after_spec["status"] == {"url": "http://x"}
    assert after_spec["metadata"]["generation"] == 2
    custom.patch_namespaced_custom_object(G, V, ns, P, "sklearn-iris", {"metadata": {"labels": {"a": "b"}}})
    assert custom.get_namespaced_custom_object(G, V, ns, P, "sklearn-iris")["metadata"]["generation"] == 2


def test_field_and_label_selectors(api: client.ApiClient, ns: str) -> None:
    custom = isvc(api)
    for name, team in (("a", "x"), ("b", "y")):
        custom.create_namespaced_custom_object(
            G, V, ns, P, {**TUTORIAL, "metadata": {"name": name, "labels": {"team": team}}}
        )
    by_field = custom.list_namespaced_custom_object(G, V, ns, P, field_selector="metadata.name=b")
    by_label = custom.list_namespaced_custom_object(G, V, ns, P, label_selector="team!=y")
    assert [i["metadata"]["name"] for i in by_field["items"]] == ["b"]
    assert [i["metadata"]["name"] for i in by_label["items"]] == ["a"]


def test_watch_resumes_from_resource_version(api: client.ApiClient, ns: str) -> None:
    custom = isvc(api)
    created = custom.create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    custom.patch_namespaced_custom_object_status(G, V, ns, P, "sklearn-iris", {"status": {"url": "http://1"}})
    custom.delete_namespaced_custom_object(G, V, ns, P, "sklearn-iris")
    events = [
        (e["type"], e["object"].get("status", {}).get("url"))
        for e in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            G,
            V,
            ns,
            P,
            resource_version=created["metadata"]["resourceVersion"],
            timeout_seconds=1,
        )
    ]
    assert events == [("MODIFIED", "http://1"), ("DELETED", "http://1")]


def test_finalizers_hold_deletion_until_removed(api: client.ApiClient, ns: str) -> None:
    custom = isvc(api)
    custom.create_namespaced_custom_object(G, V, ns, P, {**TUTORIAL, "metadata": {"name": "held", "finalizers": ["x"]}})
    custom.delete_namespaced_custom_object(G, V, ns, P, "held")
    held = custom.get_namespaced_custom_object(G, V, ns, P, "held")
    assert held["metadata"]["deletionTimestamp"]
    custom.patch_namespaced_custom_object(G, V, ns, P, "held", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object(G, V, ns, P, "held")
    assert err.value.status == 404


def test_namespace_deletion_cascades(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    isvc(api).create_namespaced_custom_object(G, V, ns, P, TUTORIAL)
    before = core.read_namespace(ns).metadata.resource_version
    core.delete_namespace(ns)
    stream = watch.Watch().stream(
        core.list_namespace, field_selector=f"metadata.name={ns}", resource_version=before, timeout_seconds=2
    )
    assert [e["type"] for e in stream] == ["MODIFIED", "DELETED"]
    assert isvc(api).list_namespaced_custom_object(G, V, ns, P)["items"] == []


def test_discovery_lists_inferenceservices(api: client.ApiClient) -> None:
    resources = client.CustomObjectsApi(api).get_api_resources(G, V)
    assert "inferenceservices" in [r.name for r in resources.resources]
    assert client.VersionApi(api).get_code().minor == "36"


def test_discovery_answers_the_group_list_and_each_group(api: client.ApiClient) -> None:
    """``ApisApi().get_api_versions()`` asks ``/apis/`` (trailing slash); one group is ``/apis/GROUP``."""
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    preferred = groups[G].preferred_version
    assert preferred is not None and preferred.group_version == f"{G}/{V}"
    host = api.configuration.host
    one = requests.get(f"{host}/apis/{G}", timeout=10).json()
    assert one["kind"] == "APIGroup" and one["name"] == G
    assert {"groupVersion": f"{G}/{V}", "version": V} in one["versions"]
    missing = requests.get(f"{host}/apis/no.such.group", timeout=10)
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
