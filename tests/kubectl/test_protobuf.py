"""kubectl's typed clients send built-in objects as Kubernetes protobuf (issue 9: "invalid JSON")."""

from __future__ import annotations

import json

import pytest

from kserve_local.apiserver import protobuf
from tests.kubectl.conftest import Kubectl


def test_create_namespace_in_protobuf(kubectl: Kubectl) -> None:
    created = kubectl("create", "namespace", "proto-ns", "-v=8")
    assert "namespace/proto-ns created" in created.stdout
    assert "Content-Type: application/vnd.kubernetes.protobuf" in created.stderr  # what made it fail before
    ns = json.loads(kubectl("get", "namespace", "proto-ns", "-o", "json").stdout)
    assert ns["metadata"]["name"] == "proto-ns"
    assert ns["status"]["phase"] == "Active"
    assert "generateName" not in ns["metadata"]  # protobuf's empty strings are Go's omitted zero values


def test_create_configmap_keeps_data(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "proto-cm")
    kubectl("create", "configmap", "settings", "-n", "proto-cm", "--from-literal=mode=Knative")
    cm = json.loads(kubectl("get", "configmap", "settings", "-n", "proto-cm", "-o", "json").stdout)
    assert cm["data"] == {"mode": "Knative"}


def test_unknown_protobuf_kind_is_415_naming_the_decoded_kinds() -> None:
    """Negative control: a kind outside the data file is refused, not mis-decoded."""

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    type_meta = field(1, b"apps/v1") + field(2, b"Deployment")
    body = protobuf.MAGIC + field(1, type_meta) + field(2, b"")
    with pytest.raises(protobuf.ApiError) as err:
        protobuf.decode(body)
    assert err.value.code == 415
    assert "v1/Namespace" in err.value.message
    assert "apps/v1/Deployment" in err.value.message
