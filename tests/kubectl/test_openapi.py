"""OpenAPI from the served resources: ``kubectl apply`` validates, ``kubectl explain`` works (issue 9).

This module's target validates against KServe's real CRD (``--crd``), whose structural schema
makes misspelled fields detectable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.conftest import ISVC_CRD
from tests.kubectl.conftest import Kubectl
from tests.kubectl.test_watch import ISVC

TYPO = ISVC.format(name="typo").replace("storageUri", "storageUrl")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, reference: object) -> Iterator[LocalTargetProcess]:
    process = LocalTargetProcess(LocalOptions(crd=ISVC_CRD), state_dir=tmp_path_factory.mktemp("target-crd"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl) -> str:
    kubectl("create", "namespace", "openapi")
    return "openapi"


def test_apply_validates_without_flags(kubectl: Kubectl, ns: str) -> None:
    done = kubectl("apply", "-v=6", "-n", ns, "-f", "-", stdin=ISVC.format(name="valid"))
    assert "inferenceservice.serving.kserve.io/valid created" in done.stdout
    assert "fieldValidation=Strict" in done.stderr  # the server was trusted to validate


def test_strict_validation_refuses_a_misspelled_field(kubectl: Kubectl, ns: str) -> None:
    refused = kubectl("apply", "-n", ns, "-f", "-", stdin=TYPO, check=False)
    assert refused.returncode != 0
    assert 'unknown field "spec.predictor.model.storageUrl"' in refused.stderr


def test_warn_and_ignore_accept_it(kubectl: Kubectl, ns: str) -> None:
    """Negative control: the same manifest passes when the user asks for less validation."""
    warned = kubectl("create", "-n", ns, "--validate=warn", "-f", "-", stdin=TYPO.replace("typo", "warned"))
    assert 'Warning: unknown field "spec.predictor.model.storageUrl"' in warned.stderr
    ignored = kubectl("create", "-n", ns, "--validate=false", "-f", "-", stdin=TYPO.replace("typo", "ignored"))
    assert "Warning" not in ignored.stderr


def test_explain_walks_the_crd_schema(kubectl: Kubectl) -> None:
    out = kubectl("explain", "isvc.spec.predictor").stdout
    assert "KIND:       InferenceService" in out
    assert "FIELD: predictor <Object>" in out
    for field in ("model\t<Object>", "minReplicas\t<integer>", "containers\t<[]Object>"):
        assert field in out


def test_explain_built_in_kinds_has_descriptions(kubectl: Kubectl) -> None:
    out = kubectl("explain", "pod.spec.containers.ports").stdout
    assert "containerPort\t<integer> -required-" in out
    assert "List of ports to expose" in out


def test_openapi_v2_is_json_or_refused(target: LocalTargetProcess) -> None:
    url = f"{target.info['api']}/openapi/v2"
    assert requests.get(url, timeout=30).json()["swagger"] == "2.0"
    proto_only = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    assert requests.get(url, headers=proto_only, timeout=30).status_code == 406
