"""How much latency the local target's ingress gateway adds: p50/p99 through it vs. direct.

Starts the local target, deploys the tutorial's InferenceService, then sends the same V1 predict
request sequentially N times directly to the model server and N times through the gateway
(interleaved, so drift on a shared machine hits both alike), and prints the percentiles of each
and of the difference. A figure, not a test: nothing here asserts a bound.

    python bench/gateway_overhead.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import time

import requests
from hdrh.histogram import HdrHistogram
from kubernetes import client

from kserve_conformance.cluster.kube import InferenceServices
from kserve_conformance.providers.base import api_client
from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess

TUTORIAL = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}
MANIFEST = {
    "apiVersion": "serving.kserve.io/v1beta1",
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


def measure(session: requests.Session, url: str, headers: dict[str, str], histogram: HdrHistogram) -> None:
    body = json.dumps(TUTORIAL)
    start = time.perf_counter()
    r = session.post(url, data=body, headers=headers, timeout=10)
    histogram.record_value(int((time.perf_counter() - start) * 1e6))
    r.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    target = LocalTargetProcess(LocalOptions())
    info = target.start()
    try:
        api = api_client(target.kubeconfig, None)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "bench"}})
        isvcs = InferenceServices(api, "bench")
        isvcs.create(MANIFEST)
        isvcs.wait_ready("sklearn-iris", 120)
        pod = client.CoreV1Api(api).list_namespaced_pod("bench").items[0]
        log = client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, "bench")
        port = int(log.split("serving sklearn-iris on http :")[1].split(",")[0])
        direct_url = f"http://127.0.0.1:{port}/v1/models/sklearn-iris:predict"
        gateway_url = f"http://{info['gateway']}/v1/models/sklearn-iris:predict"
        host = {"Host": "sklearn-iris.bench.example.com", "Content-Type": "application/json"}
        direct, via = HdrHistogram(1, 10_000_000, 3), HdrHistogram(1, 10_000_000, 3)
        with requests.Session() as s1, requests.Session() as s2:
            for _ in range(200):  # warm both paths' connections and caches
                measure(s1, direct_url, {"Content-Type": "application/json"}, HdrHistogram(1, 10_000_000, 3))
                measure(s2, gateway_url, host, HdrHistogram(1, 10_000_000, 3))
            for _ in range(args.requests):
                measure(s1, direct_url, {"Content-Type": "application/json"}, direct)
                measure(s2, gateway_url, host, via)
        print(f"{args.requests} sequential V1 predicts each way (µs):")
        for q in (50, 90, 99):
            d, g = direct.get_value_at_percentile(q), via.get_value_at_percentile(q)
            print(f"  p{q}: direct {d:>6} via gateway {g:>6}  added {g - d:>5}")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
