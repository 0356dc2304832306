"""The local KEDA path: the ScaledObject KServe writes, and KEDA's HPA following a Prometheus trigger.

KServe's own e2e (test/e2e/predictor/test_autoscaling.py, test_sklearn_keda_scale_new_spec_external)
asserts the trigger KServe writes for an External metric; the same expectations hold here. The
operator is driven against a stub that answers ``/api/v1/query`` as Prometheus does, through a
stored Service and Endpoints as a cluster's DNS would resolve ``prometheus.monitoring.svc``; no
timing is asserted: each sync is run by hand.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import BY_KIND, INFERENCESERVICES, RESOURCES, SCALEDOBJECTS
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Fault, Faults
from kserve_local.keda import hpa, prometheus
from kserve_local.keda.operator import Keda, Target
from kserve_local.kserve import keda
from kserve_local.kserve.config import Mode

ISVC: Obj = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {
        "name": "sklearn-keda",
        "namespace": "ns",
        "uid": "u-1",
        "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment", keda.AUTOSCALER_CLASS: "keda"},
    },
    "spec": {
        "predictor": {
            "minReplicas": 1,
            "maxReplicas": 3,
            "autoScaling": {
                "metrics": [
                    {
                        "type": "External",
                        "external": {
                            "metric": {
                                "backend": "prometheus",
                                "serverAddress": "http://prometheus.monitoring.svc:9090",
                                "query": "sum(rate(request_predict_seconds_count[1m]))",
                            },
                            "target": {"type": "Value", "value": 50},
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
            },
            "model": {"modelFormat": {"name": "sklearn"}},
        }
    },
}


def test_kserve_writes_the_scaled_object_its_e2e_expects() -> None:
    obj = keda.scaled_object(ISVC)
    assert obj["metadata"]["name"] == "sklearn-keda-predictor"
    assert obj["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == "sklearn-keda"
    assert obj["metadata"]["ownerReferences"][0]["kind"] == "InferenceService"
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"name": "sklearn-keda-predictor"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 3)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and "metricType" not in trigger
    assert trigger["metadata"]["threshold"] == "50.000000"
    assert trigger["metadata"]["serverAddress"] == "http://prometheus.monitoring.svc:9090"
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 0}
    }


def test_only_standard_mode_with_the_keda_class_uses_keda() -> None:
    annotations = ISVC["metadata"]["annotations"]
    assert keda.uses_keda(Mode.STANDARD, annotations)
    assert not keda.uses_keda(Mode.KNATIVE, annotations)
    assert not keda.uses_keda(Mode.STANDARD, {})


def test_max_replicas_below_min_is_raised_and_quantities_are_read() -> None:
    isvc = {**ISVC, "spec": {"predictor": {"minReplicas": 2, "maxReplicas": 1}}}
    assert keda.scaled_object(isvc)["spec"]["maxReplicaCount"] == 2
    assert keda.quantity("500m") == 0.5 and keda.quantity("2") == 2.0 and keda.quantity(7) == 7.0


@pytest.mark.parametrize(
    ("value", "threshold", "kind", "current", "want"),
    [
        (120.0, 50.0, "AverageValue", 1, 3),  # ceil(120 / 50)
        (105.0, 50.0, "AverageValue", 2, 2),  # within 10 % of 2 * 50: stays
        (0.0, 50.0, "AverageValue", 3, 0),  # the floor (minReplicas) is the caller's
        (120.0, 50.0, "Value", 2, 5),  # ceil(2 * 120 / 50)
    ],
)
def test_the_hpa_rules_for_external_metrics(value: float, threshold: float, kind: str, current: int, want: int) -> None:
    assert hpa.external_replicas(value, threshold, kind, current) == want


def test_a_scale_down_waits_for_the_stabilization_window() -> None:
    stabilizer = hpa.Stabilizer(down_s=10.0)
    assert stabilizer.stabilize(0.0, 3, 1) == 3  # up at once
    assert stabilizer.stabilize(5.0, 1, 3) == 3  # 3 was recommended 5 s ago
    assert stabilizer.stabilize(11.0, 1, 3) == 1


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ({"data": {"resultType": "vector", "result": []}}, 0.0),
        ({"data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "4.5"]}]}}, 4.5),
        ({"data": {"resultType": "scalar", "result": [1, "NaN"]}}, 0.0),
    ],
)
def test_query_answers_are_read_as_keda_reads_them(answer: Obj, value: float) -> None:
    import json

    assert prometheus.value_of(json.dumps(answer).encode(), {"query": "q"}) == value


def test_many_elements_are_an_error() -> None:
    import json

    two = {"data": {"result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}}
    with pytest.raises(prometheus.QueryError, match="returned multiple elements"):
        prometheus.value_of(json.dumps(two).encode(), {"query": "q"})


class FakeDeployment:
    def __init__(self) -> None:
        self.replicas = 1

    def target(self, namespace: str, name: str) -> Target | None:
        async def scale(n: int) -> None:
            self.replicas = n

        return Target(self.replicas, scale) if (namespace, name) == ("ns", "sklearn-keda-predictor") else None


async def operate(values: list[float], faults: Faults, host: str = "prometheus") -> tuple[list[int], Obj, list[Obj]]:
    """Sync the operator once per value the stub Prometheus answers; the replicas after each."""
    answers = iter(values)
    queries: list[str] = []

    async def query(request: web.Request) -> web.Response:
        queries.append(request.query["query"])
        sample = {"metric": {}, "value": [0, str(next(answers))]}
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [sample]}})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    store = Store(RESOURCES)
    for ns in ("ns", "monitoring"):
        await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
    service = {"metadata": {"name": "prometheus"}, "spec": {"ports": [{"name": "web", "port": 9090}]}}
    await store.create(BY_KIND[("v1", "Service")], "monitoring", service)
    endpoints = {
        "metadata": {"name": "prometheus"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "web", "port": port}]}],
    }
    await store.create(BY_KIND[("v1", "Endpoints")], "monitoring", endpoints)
    isvc = await store.create(INFERENCESERVICES, "ns", ISVC)
    scaled = keda.scaled_object(isvc)
    scaled["spec"]["triggers"][0]["metadata"]["serverAddress"] = f"http://{host}.monitoring.svc:9090"
    await store.create(SCALEDOBJECTS, "ns", scaled)
    deployment = FakeDeployment()
    operator = Keda(store, Recorder(store), faults, deployment.target, downscale_stabilization_s=300.0)
    seen: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in values:
                await operator.sync(session)
                await asyncio.gather(*operator._tasks)
                seen.append(deployment.replicas)
    finally:
        await runner.cleanup()
    assert all(q == "sum(rate(request_predict_seconds_count[1m]))" for q in queries)
    status = store.get(SCALEDOBJECTS, "ns", "sklearn-keda-predictor")["status"]
    events = store.list(next(r for r in RESOURCES if r.plural == "events"), "ns")
    return seen, status, events


def test_keda_follows_the_trigger_up_to_max_and_back_to_min() -> None:
    seen, status, events = asyncio.run(operate([120.0, 400.0, 0.0], {}))
    assert seen == [3, 3, 1], seen  # ceil(120/50) = 3; 400 is capped at maxReplicas 3; 0 → minReplicas
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "Active": "False", "Fallback": "False", "Paused": "Unknown"}
    assert status["externalMetricNames"] == ["s0-prometheus"]
    reasons = [e["reason"] for e in events]
    assert "KEDAScalersStarted" in reasons and reasons.count("SuccessfulRescale") == 2, reasons


def test_the_keda_ignores_trigger_fault_keeps_the_replicas_while_active() -> None:
    seen, status, _ = asyncio.run(operate([120.0, 120.0], {Fault.KEDA_IGNORES_TRIGGER: ""}))
    assert seen == [1, 1]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Active"] == "True"


def test_an_unknown_service_host_is_named() -> None:
    store = Store(RESOURCES)
    with pytest.raises(prometheus.QueryError, match="no such host"):
        prometheus.resolve(store, "http://prometheus.monitoring.svc:9090")
    assert prometheus.resolve(store, "http://127.0.0.1:9090") == "http://127.0.0.1:9090"


def test_a_failing_query_keeps_the_replicas_and_says_so_once() -> None:
    seen, status, events = asyncio.run(operate([120.0, 120.0], {}, host="nosuch"))
    assert seen == [1, 1]
    assert status["health"]["s0-prometheus"] == {"numberOfFailures": 2, "status": "Failing"}
    failed = [e["message"] for e in events if e["reason"] == "KEDAScalerFailed"]
    assert len(failed) == 1 and "no such host" in failed[0], failed
