"""The operator checks' readings of the API: a pod's readiness, a dry run's verdict, a field by path."""

from __future__ import annotations

from kserve_conformance.cluster.admission import Admission, field_at, unready


def pod(phase: str, condition: str, **container: object) -> dict[str, object]:
    return {
        "metadata": {"name": "kserve-controller-manager-abc", "namespace": "kserve"},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": condition}],
            "containerStatuses": [{"name": "manager", "restartCount": 4, **container}],
        },
    }


def test_a_ready_running_pod_is_ready() -> None:
    assert unready(pod("Running", "True", ready=True)) is None


def test_an_unready_pod_says_what_its_status_says() -> None:
    crashing = pod("Running", "False", ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}})
    assert unready(crashing) == ("phase Running, Ready=False, container manager waiting: CrashLoopBackOff, 4 restarts")
    assert "phase Pending" in str(unready(pod("Pending", "False")))
    assert "Ready=missing" in str(unready({"status": {"phase": "Running"}}))


def test_a_refusal_counts_as_the_webhooks_only_when_the_api_server_says_so() -> None:
    webhook = Admission(None, 403, "Forbidden", 'admission webhook "v" denied the request: bad name')
    rbac = Admission(None, 403, "Forbidden", 'User "u" cannot create resource "inferenceservices"')
    assert webhook.by_webhook and not rbac.by_webhook
    assert not webhook.admitted and Admission({"spec": {}}).admitted
    assert webhook.describe().startswith("refused with 403 Forbidden: admission webhook")


def test_field_at_walks_a_dotted_path() -> None:
    obj = {"spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}}}
    assert field_at(obj, "spec.predictor.model.modelFormat.name") == "sklearn"
    assert field_at(obj, "spec.predictor.sklearn") is None
    assert field_at(obj, "spec.predictor.model.modelFormat.name.more") is None
