"""Server-side apply, field ownership, strategic merge and JSON patch (issue 9: apply --server-side
behaved as a merge patch: no conflicts, no managedFields, dropped fields kept, no create)."""

from __future__ import annotations

import json

import pytest

from tests.kubectl.conftest import Kubectl
from tests.kubectl.test_watch import ISVC

NS = "apply"
WITH_REPLICAS = ISVC.format(name="iris").replace("  predictor:\n", "  predictor:\n    minReplicas: {n}\n")


@pytest.fixture(scope="module", autouse=True)
def namespace(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", NS)


def live(kubectl: Kubectl, kind: str, name: str) -> dict:
    return json.loads(kubectl("get", kind, name, "-n", NS, "-o", "json", "--show-managed-fields").stdout)


def managers(obj: dict) -> dict[str, str]:
    return {e["manager"]: e["operation"] for e in obj["metadata"].get("managedFields", [])}


def apply(kubectl: Kubectl, manifest: str, *flags: str, check: bool = True):  # type: ignore[no-untyped-def]
    return kubectl("apply", "--server-side", "-n", NS, *flags, "-f", "-", stdin=manifest, check=check)


def test_server_side_apply_creates_and_records_the_manager(kubectl: Kubectl) -> None:
    assert "serverside-applied" in apply(kubectl, ISVC.format(name="iris")).stdout
    obj = live(kubectl, "isvc", "iris")
    assert managers(obj) == {"kubectl": "Apply"}
    fields = obj["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields == {"f:spec": {"f:predictor": {"f:model": {"f:modelFormat": {"f:name": {}}, "f:storageUri": {}}}}}


def test_conflict_between_managers_then_force(kubectl: Kubectl) -> None:
    apply(kubectl, WITH_REPLICAS.format(n=2), "--field-manager=autoscaler-team")
    refused = apply(kubectl, WITH_REPLICAS.format(n=3), check=False)
    assert refused.returncode != 0
    assert 'conflict with "autoscaler-team": .spec.predictor.minReplicas' in refused.stderr
    assert live(kubectl, "isvc", "iris")["spec"]["predictor"]["minReplicas"] == 2
    apply(kubectl, WITH_REPLICAS.format(n=3), "--force-conflicts")
    obj = live(kubectl, "isvc", "iris")
    assert obj["spec"]["predictor"]["minReplicas"] == 3
    team = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "autoscaler-team")
    assert "f:minReplicas" not in team["fieldsV1"]["f:spec"]["f:predictor"]  # forced away
    assert "f:model" in team["fieldsV1"]["f:spec"]["f:predictor"]  # shared, same value: still co-owned


def test_field_a_manager_drops_is_removed(kubectl: Kubectl) -> None:
    apply(kubectl, WITH_REPLICAS.format(n=1).replace("iris", "dropped"))
    apply(kubectl, ISVC.format(name="dropped"))
    assert "minReplicas" not in live(kubectl, "isvc", "dropped")["spec"]["predictor"]


def test_field_still_owned_by_another_manager_stays(kubectl: Kubectl) -> None:
    """Negative control for the removal: a co-owner keeps the field alive."""
    manifest = WITH_REPLICAS.format(n=1).replace("iris", "shared")
    apply(kubectl, manifest)
    apply(kubectl, manifest, "--field-manager=co-owner")
    apply(kubectl, ISVC.format(name="shared"))
    assert live(kubectl, "isvc", "shared")["spec"]["predictor"]["minReplicas"] == 1


def test_updates_record_their_manager(kubectl: Kubectl) -> None:
    kubectl("label", "isvc", "iris", "-n", NS, "team=serving")
    entry = next(
        e for e in live(kubectl, "isvc", "iris")["metadata"]["managedFields"] if e["manager"] == "kubectl-label"
    )
    assert entry["operation"] == "Update"
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_apply_dry_run_changes_nothing(kubectl: Kubectl) -> None:
    def owned(obj: dict) -> tuple:  # status may move meanwhile: the reconciler is not part of this
        meta = obj["metadata"]
        return obj["spec"], meta["generation"], [{**e, "time": None} for e in meta["managedFields"]]

    before = owned(live(kubectl, "isvc", "iris"))
    apply(kubectl, WITH_REPLICAS.format(n=5), "--force-conflicts", "--dry-run=server")
    assert owned(live(kubectl, "isvc", "iris")) == before


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  containers:
  - name: a
    image: x
"""


def test_strategic_merge_patch_merges_containers_by_name(kubectl: Kubectl) -> None:
    kubectl("create", "-n", NS, "-f", "-", stdin=POD)
    kubectl("patch", "pod", "two", "-n", NS, "-p", '{"spec":{"containers":[{"name":"b","image":"y"}]}}')
    names = kubectl("get", "pod", "two", "-n", NS, "-o", "jsonpath={.spec.containers[*].name}").stdout
    assert names == "a b"
    kubectl("patch", "pod", "two", "-n", NS, "-p", '{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}')
    assert kubectl("get", "pod", "two", "-n", NS, "-o", "jsonpath={.spec.containers[*].name}").stdout == "b"


def test_merge_patch_replaces_the_list(kubectl: Kubectl) -> None:
    """Negative control: the same patch as a JSON merge patch replaces the whole list."""
    kubectl("create", "-n", NS, "-f", "-", stdin=POD.replace("two", "merged"))
    kubectl(
        "patch", "pod", "merged", "-n", NS, "--type=merge", "-p", '{"spec":{"containers":[{"name":"b","image":"y"}]}}'
    )
    assert kubectl("get", "pod", "merged", "-n", NS, "-o", "jsonpath={.spec.containers[*].name}").stdout == "b"


def test_custom_resources_refuse_strategic_merge_and_take_json_patch(kubectl: Kubectl) -> None:
    refused = kubectl("patch", "isvc", "iris", "-n", NS, "-p", '{"metadata":{"labels":{"x":"y"}}}', check=False)
    assert refused.returncode != 0
    assert "application/strategic-merge-patch+json is not supported" in refused.stderr
    kubectl(
        "patch",
        "isvc",
        "iris",
        "-n",
        NS,
        "--type=json",
        "-p",
        '[{"op":"add","path":"/spec/predictor/maxReplicas","value":4}]',
    )
    assert live(kubectl, "isvc", "iris")["spec"]["predictor"]["maxReplicas"] == 4
