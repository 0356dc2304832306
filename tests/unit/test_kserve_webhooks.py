"""The local target's KServe webhooks: what KServe's defaulter writes and its validator refuses.

Each rule is held against the words of KServe's source (``inference_service_validation.go``,
``component.go``, ``inference_service_defaults.go``); the denial against kube-apiserver's
framing of a webhook's refusal (``ToStatusErr``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

import pytest

from kserve_local.apiserver.resources import BY_KIND, INFERENCESERVICES, RESOURCES
from kserve_local.apiserver.store import ApiError, Obj, Store
from kserve_local.faults import Fault
from kserve_local.kserve import install, webhooks

SKLEARN = {"storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}
MINIMAL: Obj = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {"name": "sklearn-iris"},
    "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, **SKLEARN}}},
}
KSERVE_CONFIG = {"deploy": {"defaultDeploymentMode": "Knative"}, "security": {"autoMountServiceAccountToken": True}}


def isvc(**changes: Any) -> Obj:
    obj = copy.deepcopy(MINIMAL)
    for key, value in changes.items():
        obj[key] = value
    return obj


def predictor(**fields: Any) -> Obj:
    return isvc(spec={"predictor": fields})


REFUSED = [
    (
        isvc(metadata={"name": "1-sklearn"}),
        'the InferenceService "1-sklearn" is invalid: a InferenceService name must consist of lower case '
        "alphanumeric characters or '-', and must start with alphabetical character.",
    ),
    (isvc(metadata={"name": "a.b"}), "a InferenceService name must consist of"),
    (predictor(minReplicas=1), "must be specified in PredictorSpec"),
    (predictor(sklearn=SKLEARN, xgboost=SKLEARN), "exactly one of [Name, SKLearn, XGBoost,"),
    (
        predictor(model=MINIMAL["spec"]["predictor"]["model"], minReplicas=3, maxReplicas=1),
        "'MinReplicas' cannot be greater than MaxReplicas",
    ),
    (predictor(sklearn=SKLEARN, minReplicas=-1), "'MinReplicas' cannot be less than 0"),
    (predictor(sklearn=SKLEARN, containerConcurrency=-1), "parallelism cannot be less than 0"),
    (predictor(sklearn=SKLEARN, scaleMetric="cpu"), "[cpu] is not a supported metric"),
    (predictor(sklearn=SKLEARN, scaleMetric="rps", scaleTarget=0), "the target for rps should be greater than 1"),
    (
        isvc(
            metadata={"name": "x", "annotations": {"serving.kserve.io/autoscalerClass": "magic"}},
        ),
        "[magic] is not a supported autoscaler class type",
    ),
    (
        isvc(
            metadata={
                "name": "x",
                "annotations": {
                    "serving.kserve.io/deploymentMode": "Standard",
                    "serving.kserve.io/autoscalerClass": "hpa",
                },
            },
            spec={"predictor": {"sklearn": SKLEARN, "scaleMetric": "cpu", "scaleTarget": 101}},
        ),
        "the target utilization percentage should be a [1-100] integer",
    ),
]


@pytest.mark.parametrize(("obj", "words"), REFUSED, ids=[w[:40] for _, w in REFUSED])
def test_validator_refuses_in_kserves_words(obj: Obj, words: str) -> None:
    webhooks.default(obj, KSERVE_CONFIG)
    reason = webhooks.validate(obj, None)
    assert reason is not None and words in reason, reason


def test_validator_admits_the_tutorial_and_the_legacy_form() -> None:
    for obj in (isvc(), predictor(sklearn=SKLEARN, minReplicas=1, maxReplicas=3)):
        webhooks.default(obj, KSERVE_CONFIG)
        assert webhooks.validate(obj, None) is None


def test_validator_lets_a_deletion_finish() -> None:
    obj = isvc(metadata={"name": "1-old", "deletionTimestamp": "2026-01-01T00:00:00Z"})
    assert webhooks.validate(obj, isvc()) is None


def test_defaulter_rewrites_a_legacy_predictor_into_model() -> None:
    obj = predictor(sklearn=SKLEARN, minReplicas=1)
    webhooks.default(obj, KSERVE_CONFIG)
    assert obj["spec"]["predictor"] == {"model": {"modelFormat": {"name": "sklearn"}, **SKLEARN}, "minReplicas": 1}
    assert obj["metadata"]["annotations"] == {"modelFormat": "sklearn"}


def test_defaulter_gives_triton_v2_and_the_cluster_mode() -> None:
    obj = predictor(triton=SKLEARN)
    webhooks.default(obj, {**KSERVE_CONFIG, "deploy": {"defaultDeploymentMode": "RawDeployment"}})
    assert obj["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert obj["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"


def test_defaulter_unmounts_the_token_unless_security_allows_it() -> None:
    obj = isvc()
    webhooks.default(obj, {})
    assert obj["spec"]["predictor"]["automountServiceAccountToken"] is False
    kept = isvc()
    webhooks.default(kept, KSERVE_CONFIG)
    assert "automountServiceAccountToken" not in kept["spec"]["predictor"]


def create(faults: dict[Fault, str], body: Obj) -> Obj:
    async def run() -> Obj:
        store = Store(RESOURCES)
        install.register(store, faults)
        await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": "t"}})
        return await store.create(INFERENCESERVICES, "t", body, dry_run=True)

    return asyncio.run(run())


def test_a_denial_is_framed_as_kube_apiserver_frames_it() -> None:
    with pytest.raises(ApiError) as err:
        create({}, predictor(minReplicas=3, maxReplicas=1, sklearn=SKLEARN))
    status = err.value.status()
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"] == (
        'inferenceservices.serving.kserve.io "sklearn-iris" is forbidden: admission webhook '
        '"inferenceservice.kserve-webhook-server.validator" denied the request: '
        "'MinReplicas' cannot be greater than MaxReplicas"
    )
    assert status["details"] == {"name": "sklearn-iris", "group": "serving.kserve.io", "kind": "inferenceservices"}


def test_faults_remove_one_webhook_each() -> None:
    bad = predictor(minReplicas=3, maxReplicas=1, sklearn=SKLEARN)
    assert create({Fault.WEBHOOK_ADMITS_INVALID: ""}, bad)["spec"]["predictor"]["maxReplicas"] == 1
    legacy = create({Fault.WEBHOOK_NO_DEFAULTS: ""}, predictor(sklearn=SKLEARN))
    assert legacy["spec"]["predictor"] == {"sklearn": SKLEARN}


def test_controller_not_ready_fault_leaves_the_pod_running_unready() -> None:
    pods = [o for o in install.objects({Fault.CONTROLLER_NOT_READY: ""}) if o["kind"] == "Pod"]
    assert pods[0]["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in pods[0]["status"]["conditions"]}["Ready"] == "False"
    healthy = [o for o in install.objects({}) if o["kind"] == "Pod"]
    assert {c["type"]: c["status"] for c in healthy[0]["status"]["conditions"]}["Ready"] == "True"


def test_the_controller_pod_stops_being_ready_when_the_controller_dies() -> None:
    async def run() -> Obj:
        store = Store(RESOURCES)
        await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": "kserve"}})
        for obj in install.objects({}):
            if obj["kind"] == "Pod":
                created = await store.create(install.PODS, "kserve", obj)
                created["status"] = obj["status"]
                await store.replace(install.PODS, "kserve", obj["metadata"]["name"], created, "status")

        async def crash() -> None:
            raise RuntimeError("watch ended")

        task = asyncio.get_running_loop().create_task(crash())
        install.follow(store, task)
        with contextlib.suppress(RuntimeError):
            await task
        for _ in range(100):  # the callback's write is a task of its own
            await asyncio.sleep(0)
        return store.get(install.PODS, "kserve", "kserve-controller-manager-local")

    pod = asyncio.run(run())
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "False"
    assert "watch ended" in pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
