"""Cold start, time to zero and time to scale on the local target: figures, not tests.

Starts the local target, deploys an InferenceService with ``minReplicas: 0`` (Knative window 6 s)
and, ``--rounds`` times, waits until it has no ready replica (time to zero) and times the next
request (the cold start: the activator holds it while a model server starts). Then deploys one
with a concurrency target of 1 (Knative) or a CPU target (Standard), drives it with
``--concurrency`` closed-loop clients until it has more than one ready replica (time to scale
up), stops, and waits until it is back at one (time to scale down). Nothing here asserts a bound.

    python bench/scaling.py [--rounds 5] [--concurrency 4] [--mode Knative|Standard]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from kubernetes import client

from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.providers.base import api_client
from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess

TUTORIAL = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}
IRIS = "gs://kfserving-examples/models/sklearn/1.0/model"
NAMESPACE = "bench-scaling"


def manifest(name: str, predictor: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "predictor": {
                **predictor,
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": IRIS, **predictor.pop("model", {})},
            }
        },
    }


def ready_pods(core: client.CoreV1Api, name: str) -> int:
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=f"serving.kserve.io/inferenceservice={name}").items
    return sum(
        1
        for p in pods
        if not p.metadata.deletion_timestamp
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )


def until(predicate: Callable[[], bool], timeout_s: float = 300) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise SystemExit(f"not within {timeout_s}s")
        time.sleep(0.2)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--mode", default="Knative", choices=("Knative", "Standard"))
    args = parser.parse_args()
    target = LocalTargetProcess(LocalOptions(deployment_mode=args.mode))
    info = target.start()
    try:
        api = api_client(str(target.kubeconfig), None)
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        isvcs = InferenceServices(api, NAMESPACE)
        domain = "{name}.%s.example.com" if args.mode == "Knative" else "{name}-%s.example.com"

        def predict(name: str, session: Any = requests) -> requests.Response:
            return session.post(
                f"http://{info['gateway']}/v1/models/{name}:predict",
                json=TUTORIAL,
                timeout=300,
                headers={"Host": (domain % NAMESPACE).format(name=name)},
            )

        if args.mode == "Knative":
            isvcs.create(manifest("zero", {"minReplicas": 0}, {"autoscaling.knative.dev/window": "6s"}))
            isvcs.wait_ready("zero", 120)
            to_zero, cold = [], []
            for _ in range(args.rounds):
                to_zero.append(until(lambda: ready_pods(core, "zero") == 0))
                start = time.monotonic()
                answer = predict("zero")
                cold.append(time.monotonic() - start)
                assert answer.status_code == 200, answer.text
            print(f"time to zero (s): {[round(t, 2) for t in to_zero]}")
            print(f"cold start (s):   {[round(t, 2) for t in cold]}  median {statistics.median(cold):.2f}")
            isvcs.delete("zero")
            predictor = {"minReplicas": 1, "maxReplicas": 3, "scaleMetric": "concurrency", "scaleTarget": 1}
        else:
            predictor = {
                "minReplicas": 1,
                "maxReplicas": 3,
                "scaleMetric": "cpu",
                "scaleTarget": 50,
                "model": {"resources": {"requests": {"cpu": "100m"}}},
            }
        isvcs.create(manifest("auto", predictor, {"autoscaling.knative.dev/window": "6s"}))
        isvcs.wait_ready("auto", 120)
        stop, answers = threading.Event(), Counter[int]()

        def drive() -> None:
            session = requests.Session()
            while not stop.is_set():
                answers[predict("auto", session).status_code] += 1

        drivers = [threading.Thread(target=drive) for _ in range(args.concurrency)]
        for thread in drivers:
            thread.start()
        up = until(lambda: ready_pods(core, "auto") > 1)
        time.sleep(5)
        peak = ready_pods(core, "auto")
        stop.set()
        for thread in drivers:
            thread.join()
        down = until(lambda: ready_pods(core, "auto") == 1)
        print(
            f"{args.mode}: time to scale up {up:.2f} s (concurrency {args.concurrency}), {peak} ready replicas "
            f"5 s later; time to scale down {down:.2f} s after the load stopped; answers {dict(answers)}"
        )
        core.delete_namespace(NAMESPACE)
    finally:
        target.stop()


if __name__ == "__main__":
    main()
