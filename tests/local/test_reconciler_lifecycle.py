"""The local target's reconciler behaves like KServe's where clients can see it.

Rollouts keep serving (the old revision answers until the new one does), the predictor's
``runtime`` and ``args`` are honoured or refused with KServe's reasons, and a model server that
dies is restarted the way a kubelet restarts a container, with events saying so. Each test
reproduces a defect that was found with real clients (issue 9) and now guards its fix.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest
import requests
from kubernetes import client, config

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
TUTORIAL = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}
IRIS_URI = "gs://kfserving-examples/models/sklearn/1.0/model"
WAIT_S = 90  # a bound on waiting for a state, not a speed claim: a hang fails instead of blocking CI


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[client.ApiClient, str]]:
    local = LocalTargetProcess(LocalOptions())
    info = local.start()
    try:
        yield config.new_client_from_config(str(local.kubeconfig)), info["gateway"]
    finally:
        local.stop()


@pytest.fixture
def namespace(target: tuple[client.ApiClient, str], request: pytest.FixtureRequest) -> Iterator[str]:
    api = client.CoreV1Api(target[0])
    name = f"lifecycle-{request.node.name.replace('_', '-')[5:40].strip('-')}"
    api.create_namespace({"metadata": {"name": name}})
    yield name
    api.delete_namespace(name)


def isvc(name: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": IRIS_URI, **model}}},
    }


def until(what: str, probe: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what} (last: {last})")


def get(api: client.ApiClient, ns: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == ctype), {})


def ready(api: client.ApiClient, ns: str, name: str) -> dict[str, Any] | None:
    obj = get(api, ns, name)
    current = obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
    return obj if current and condition(obj, "Ready").get("status") == "True" else None


def only_pod(api: client.ApiClient, ns: str, name: str) -> Any:
    pods = (
        client.CoreV1Api(api).list_namespaced_pod(ns, label_selector=f"serving.kserve.io/inferenceservice={name}").items
    )
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return pods[0]


def create(api: client.ApiClient, ns: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)


def predict(gateway: str, ns: str, name: str, model: str | None = None) -> requests.Response:
    return requests.post(
        f"http://{gateway}/v1/models/{model or name}:predict",
        json=TUTORIAL,
        timeout=10,
        headers={"Host": f"{name}.{ns}.example.com"},
    )


def test_a_spec_change_loses_no_request(target: tuple[client.ApiClient, str], namespace: str) -> None:
    api, gateway = target
    create(api, namespace, isvc("rollout", {}))
    until("Ready", lambda: ready(api, namespace, "rollout"))
    statuses: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:  # a steady 50 requests/s through the gateway, for the whole rollout
        while not stop.is_set():
            try:
                statuses[str(predict(gateway, namespace, "rollout").status_code)] += 1
            except requests.RequestException as err:
                statuses[type(err).__name__] += 1
            time.sleep(0.02)

    sender = threading.Thread(target=load)
    sender.start()
    try:
        time.sleep(0.5)
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "rollout", {"spec": {"predictor": {"minReplicas": 2}}}
        )
        seen_created_ahead = until(
            "the new revision created",
            lambda: (
                (s := get(api, namespace, "rollout").get("status", {}).get("components", {}).get("predictor", {}))
                and s.get("latestCreatedRevision") == "rollout-predictor-00002"
                and s
            ),
        )
        done = until("the new revision ready", lambda: ready(api, namespace, "rollout"))
        time.sleep(0.5)
    finally:
        stop.set()
        sender.join()
    print(f"answers through the gateway during the rollout: {dict(statuses)}")  # a figure for humans (-s)
    assert set(statuses) == {"200"} and statuses["200"] > 20, f"answers during the rollout: {dict(statuses)}"
    predictor = done["status"]["components"]["predictor"]
    assert predictor["latestReadyRevision"] == "rollout-predictor-00002", predictor
    assert predictor["traffic"] == [
        {"revisionName": "rollout-predictor-00002", "percent": 100, "latestRevision": True}
    ], predictor
    if seen_created_ahead.get("latestReadyRevision") == "rollout-predictor-00001":
        assert seen_created_ahead["traffic"][0]["revisionName"] == "rollout-predictor-00001", seen_created_ahead
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace).items
    revisions = sorted(p.metadata.labels["serving.knative.dev/revision"] for p in pods)
    assert revisions == ["rollout-predictor-00002"] * 2, f"old revision retired, minReplicas 2: {revisions}"


@pytest.mark.parametrize(
    ("model", "reason", "words"),
    [
        (
            {"runtime": "kserve-mlserver", "protocolVersion": "v2"},
            "RuntimeNotRecognized",
            "No ServingRuntimes or ClusterServingRuntimes with the name: kserve-mlserver",
        ),
        ({"modelFormat": {"name": "xgboost"}}, "NoSupportingRuntime", "model type: xgboost"),
        ({"runtime": "kserve-sklearnserver", "args": ["--workers=2"]}, "UnsupportedArgument", "--workers=2"),
    ],
    ids=["unknown-runtime", "unsupported-format", "workers"],
)
def test_a_runtime_that_cannot_serve_is_refused(
    target: tuple[client.ApiClient, str], namespace: str, model: dict[str, Any], reason: str, words: str
) -> None:
    api, _ = target
    create(api, namespace, isvc("refused", model))
    obj = until(
        "PredictorReady False",
        lambda: (o := get(api, namespace, "refused")) and condition(o, "PredictorReady").get("status") == "False" and o,
    )
    predictor_ready = condition(obj, "PredictorReady")
    assert predictor_ready["reason"] == reason and words in predictor_ready["message"], predictor_ready
    assert condition(obj, "Ready")["status"] == "False"


def test_args_reach_the_model_server(target: tuple[client.ApiClient, str], namespace: str) -> None:
    api, gateway = target
    create(api, namespace, isvc("args", {"runtime": "kserve-sklearnserver", "args": ["--model_name", "renamed"]}))
    until("Ready", lambda: ready(api, namespace, "args"))
    answer = predict(gateway, namespace, "args", model="renamed")
    assert answer.status_code == 200 and answer.json() == {"predictions": [1, 1]}, answer.text
    pod = only_pod(api, namespace, "args")
    assert pod.spec.containers[0].args[-2:] == ["--model_name", "renamed"], pod.spec.containers[0].args
    assert predict(gateway, namespace, "args").status_code == 404, "the model is served under its new name only"


def test_pods_carry_the_runtimes_prometheus_annotations(target: tuple[client.ApiClient, str], namespace: str) -> None:
    """The runtime's prometheus.kserve.io/port|path reach the pod (renumbered to its own port);
    scraping, enabled by the target's inferenceservice-config for every InferenceService, adds
    prometheus.io/scrape|port|path, which serve the model server's metrics; an InferenceService
    that says "false" opts out."""
    api, gateway = target
    create(api, namespace, isvc("scraped", {}))
    body = isvc("unscraped", {})
    body["metadata"]["annotations"] = {"serving.kserve.io/enable-prometheus-scraping": "false"}
    create(api, namespace, body)
    until("Ready", lambda: ready(api, namespace, "scraped") and ready(api, namespace, "unscraped"))
    assert predict(gateway, namespace, "scraped").status_code == 200
    pod = only_pod(api, namespace, "scraped")
    notes = pod.metadata.annotations
    http = next(p.container_port for p in pod.spec.containers[0].ports if p.name == "http")
    assert notes["prometheus.kserve.io/port"] == notes["prometheus.io/port"] == str(http), notes
    assert notes["prometheus.kserve.io/path"] == notes["prometheus.io/path"] == "/metrics", notes
    assert notes["prometheus.io/scrape"] == "true", notes
    scraped = requests.get(f"http://127.0.0.1:{http}/metrics", timeout=10)
    assert 'request_predict_seconds_count{model_name="scraped"} 1.0' in scraped.text, scraped.text[:2000]
    plain = only_pod(api, namespace, "unscraped").metadata.annotations
    assert "prometheus.kserve.io/port" in plain and "prometheus.io/scrape" not in plain, plain


def model_server(model_name: str) -> psutil.Process:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "kserve_local.models.modelserver" in cmdline and model_name in cmdline:
            return proc
    raise AssertionError(f"no model server process for {model_name}")


def test_a_dead_model_server_is_restarted(target: tuple[client.ApiClient, str], namespace: str) -> None:
    api, gateway = target
    create(api, namespace, isvc("crash", {}))
    until("Ready", lambda: ready(api, namespace, "crash"))
    model_server("crash").kill()
    down = until(
        "Ready False after the crash",
        lambda: (o := get(api, namespace, "crash")) and condition(o, "Ready").get("status") == "False" and o,
    )
    assert condition(down, "PredictorReady")["reason"] == "ModelServerCrashed", condition(down, "PredictorReady")
    until("Ready again", lambda: ready(api, namespace, "crash"))
    assert predict(gateway, namespace, "crash").json() == {"predictions": [1, 1]}
    pod = only_pod(api, namespace, "crash")
    assert pod.status.container_statuses[0].restart_count == 1
    assert pod.status.container_statuses[0].ready
    events = client.CoreV1Api(api).list_namespaced_event(namespace).items
    reasons = [e.reason for e in events if e.involved_object.name == "crash"]
    assert "BackOff" in reasons and reasons.count("ModelServerStarted") == 2, reasons


def test_grpc_goes_through_the_gateway_by_authority(target: tuple[client.ApiClient, str], namespace: str) -> None:
    """As through Istio: the ingress address, the service's host as :authority (KServe's grpc_client)."""
    import grpc
    from open_inference.grpc import protocol as pb
    from open_inference.grpc import service as pb_grpc

    api, gateway = target
    create(
        api,
        namespace,
        isvc("grpc", {"protocolVersion": "v2", "ports": [{"name": "h2c", "containerPort": 8081, "protocol": "TCP"}]}),
    )
    create(api, namespace, isvc("rest", {"protocolVersion": "v2"}))
    until("Ready", lambda: ready(api, namespace, "grpc"))
    channel = grpc.insecure_channel(gateway, options=[("grpc.default_authority", f"grpc.{namespace}.example.com")])
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    request = pb.ModelInferRequest(
        model_name="grpc",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name="input-0",
                datatype="FP32",
                shape=[2, 4],
                contents=pb.InferTensorContents(fp32_contents=[6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]),
            )
        ],
    )
    response = stub.ModelInfer(request, timeout=10)
    assert list(response.outputs[0].contents.int64_contents) == [1, 1], response
    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
    assert predict(gateway, namespace, "grpc").status_code in (200, 400, 404)  # HTTP/1.1 still served beside it
    channel.close()
    until("Ready", lambda: ready(api, namespace, "rest"))
    for host in ("nobody.example.com", f"rest.{namespace}.example.com"):  # unknown; no h2c port declared
        unrouted = grpc.insecure_channel(gateway, options=[("grpc.default_authority", host)])
        with pytest.raises(grpc.RpcError) as err:
            pb_grpc.GRPCInferenceServiceStub(unrouted).ServerLive(pb.ServerLiveRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE, host  # type: ignore[attr-defined]
        unrouted.close()


def test_a_metric_the_target_cannot_measure_is_said_not_scaled(
    target: tuple[client.ApiClient, str], namespace: str
) -> None:
    """KServe allows scaleMetric rps (Knative); the local target measures concurrency only, and says so."""
    api, _ = target
    create(
        api,
        namespace,
        {
            **isvc("rps", {}),
            "spec": {"predictor": {"scaleMetric": "rps", "scaleTarget": 5, **isvc("rps", {})["spec"]["predictor"]}},
        },
    )
    until("Ready", lambda: ready(api, namespace, "rps"))
    event = until(
        "the MetricNotMeasured event",
        lambda: next(
            (
                e
                for e in client.CoreV1Api(api).list_namespaced_event(namespace).items
                if e.reason == "MetricNotMeasured"
            ),
            None,
        ),
    )
    assert "scaleMetric rps is not measured" in event.message and event.type == "Warning", event.message
