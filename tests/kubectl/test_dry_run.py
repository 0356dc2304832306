"""Dry-run on every verb persists nothing and starts nothing (issue 9: it was ignored everywhere).

"Nothing persisted" is checked by the cluster-wide resourceVersion a list reports: any write,
including the reconciler's reaction to one, would move it.
"""

from __future__ import annotations

import json

import pytest
import requests

from kserve_conformance.providers.local import LocalTargetProcess
from tests.kubectl.conftest import Kubectl
from tests.kubectl.test_watch import ISVC

NS = "dry-run"
CHANGED = ISVC.format(name="iris").replace("  predictor:\n", "  predictor:\n    minReplicas: 2\n")


def cluster_version(kubectl: Kubectl) -> str:
    return json.loads(kubectl("get", "--raw", "/api/v1/namespaces").stdout)["metadata"]["resourceVersion"]


@pytest.fixture(scope="module")
def live(kubectl: Kubectl) -> dict:
    """A namespace and an InferenceService that exist for real, to dry-run changes against."""
    kubectl("create", "namespace", NS)
    kubectl("apply", "-n", NS, "-f", "-", stdin=ISVC.format(name="iris"))
    kubectl("wait", "--for=condition=Ready", "isvc/iris", "-n", NS, "--timeout=120s", timeout=130)
    return json.loads(kubectl("get", "isvc", "iris", "-n", NS, "-o", "json").stdout)


def test_create_dry_run_persists_nothing(kubectl: Kubectl, live: dict) -> None:
    before = cluster_version(kubectl)
    assert "(server dry run)" in kubectl("create", "namespace", "not-made", "--dry-run=server").stdout
    out = kubectl("apply", "-n", NS, "--dry-run=server", "-f", "-", stdin=ISVC.format(name="not-started")).stdout
    assert "created (server dry run)" in out
    assert cluster_version(kubectl) == before
    assert kubectl("get", "namespace", "not-made", check=False).returncode != 0
    assert kubectl("get", "isvc", "not-started", "-n", NS, check=False).returncode != 0


def test_diff_and_apply_dry_run_leave_the_live_object(kubectl: Kubectl, live: dict) -> None:
    before = cluster_version(kubectl)
    diff = kubectl("diff", "-n", NS, "-f", "-", stdin=CHANGED, check=False)
    assert diff.returncode == 1 and "+    minReplicas: 2" in diff.stdout, diff.stderr  # 1: differences found
    assert (
        "configured (server dry run)" in kubectl("apply", "-n", NS, "--dry-run=server", "-f", "-", stdin=CHANGED).stdout
    )
    after = json.loads(kubectl("get", "isvc", "iris", "-n", NS, "-o", "json").stdout)
    assert after["metadata"]["generation"] == live["metadata"]["generation"]
    assert "minReplicas" not in after["spec"]["predictor"]
    assert cluster_version(kubectl) == before


def test_delete_dry_run_deletes_nothing(kubectl: Kubectl, live: dict) -> None:
    before = cluster_version(kubectl)
    assert "(server dry run)" in kubectl("delete", "isvc", "iris", "-n", NS, "--dry-run=server").stdout
    assert "(server dry run)" in kubectl("delete", "namespace", NS, "--dry-run=server").stdout
    assert kubectl("get", "isvc", "iris", "-n", NS).returncode == 0
    assert cluster_version(kubectl) == before


def test_post_with_dry_run_all_starts_no_model_server(target: LocalTargetProcess, kubectl: Kubectl, live: dict) -> None:
    before = cluster_version(kubectl)
    url = f"{target.info['api']}/apis/serving.kserve.io/v1beta1/namespaces/{NS}/inferenceservices"
    body = {**live, "metadata": {"name": "raw-dry-run"}}
    body.pop("status", None)
    answer = requests.post(url, params={"dryRun": "All"}, json=body, timeout=10)
    assert answer.status_code == 201
    assert answer.json()["metadata"]["uid"]
    assert "resourceVersion" not in answer.json()["metadata"]  # never stored
    assert cluster_version(kubectl) == before


def test_unknown_dry_run_value_is_refused(target: LocalTargetProcess, live: dict) -> None:
    """Negative control: a value the API does not define is an error, never a silent real write."""
    url = f"{target.info['api']}/api/v1/namespaces"
    answer = requests.post(url, params={"dryRun": "Everything"}, json={"metadata": {"name": "nope"}}, timeout=10)
    assert answer.status_code == 400
    assert 'Unsupported value: "Everything"' in answer.json()["message"]
    assert requests.get(f"{url}/nope", timeout=10).status_code == 404
