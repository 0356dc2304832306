"""LLMInferenceService on the local target, driven as KServe's walk-through drives a cluster.

One target and one vLLM start: the walk-through's manifest (read from KServe's own
genai-first-llmisvc.md in the reference data at test time) is applied with real kubectl into
``llm-demo``; the checks that need it serving share it. What needs no model server (the stop
annotation, deletion of the children) is shown on a second service whose image the target cannot
run: KServe writes its children all the same, and no second vLLM starts.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from kserve_local.generative import env

pytestmark = [pytest.mark.generative, pytest.mark.vllm]

NAMESPACE = "llm-demo"
NAME = "facebook-opt-125m-single"
IDLE = "idle-llm"  # the second service: an image the target cannot run, so no vLLM starts
WAIT_S = 900  # a bound on a hang (vLLM may take minutes under load), not a speed claim
CHILDREN = "deployment,service,httproute,inferencepool"


def walkthrough_manifest(reference: Path) -> str:
    """The LLMInferenceService of Step 2 of KServe's walk-through, as the doc writes it."""
    doc = (reference / "kserve" / "docs" / "genai-first-llmisvc.md").read_text()
    found = re.search(r"kubectl apply -n llm-demo -f - <<EOF\n(.*?)\nEOF", doc, re.S)
    assert found, "genai-first-llmisvc.md no longer has its Step 2 manifest"
    return found.group(1)


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)} failed: {done.stderr.strip()}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))

    def ready(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.json("get", "llminferenceservice", name, "-n", NAMESPACE)
        return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})

    def wait(self, name: str, status: str, reason: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            ready = self.ready(name)
            if ready.get("status") == status and (reason is None or ready.get("reason") == reason):
                return ready
            time.sleep(2)
        pytest.fail(f"{name} did not become Ready={status} {reason or ''} in {WAIT_S}s; last: {self.ready(name)}")


@pytest.fixture(scope="module")
def kubectl(reference: Path) -> Iterator[Kubectl]:
    """A target with the walk-through's service Ready and the idle service applied."""
    env.ensure()
    local = LocalTargetProcess(LocalOptions(generative=True))
    local.start()
    try:
        run = Kubectl(local.kubeconfig)
        run("create", "namespace", NAMESPACE)
        run("apply", "-n", NAMESPACE, "-f", "-", stdin=walkthrough_manifest(reference))
        idle = yaml.safe_load(walkthrough_manifest(reference))
        idle["metadata"]["name"] = IDLE
        idle["spec"]["template"]["containers"][0]["image"] = "example.com/not-a-model-server:1"
        run("apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(idle))
        run.wait(NAME, "True")
        yield run
    finally:
        local.stop()


def test_kubectl_get_shows_the_url_and_ready_as_the_walkthrough(kubectl: Kubectl) -> None:
    table = kubectl("get", "llminferenceservice", NAME, "-n", NAMESPACE).splitlines()
    header, row = table[0].split(), table[1].split()
    assert header[:3] == ["NAME", "URL", "READY"], f"kubectl get prints {header}, the walk-through NAME URL READY"
    url = kubectl.json("get", "llmisvc", NAME, "-n", NAMESPACE)["status"]["url"]
    assert row[:3] == [NAME, url, "True"], f"kubectl get prints {row}"
    assert url.endswith(f"/{NAMESPACE}/{NAME}"), f"status.url {url} is not the route's /NAMESPACE/NAME path"


def test_a_completion_is_answered_through_the_gateway_by_a_workload_pod(kubectl: Kubectl) -> None:
    url = kubectl.json("get", "llmisvc", NAME, "-n", NAMESPACE)["status"]["url"]
    response = requests.post(
        f"{url}/v1/completions",
        json={"model": "facebook/opt-125m", "prompt": "Who are you?", "max_tokens": 4},
        timeout=120,
    )
    assert response.status_code == 200, f"the gateway answered {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert body["model"] == "facebook/opt-125m" and body["usage"]["completion_tokens"] == 4, body
    pods = kubectl.json(
        "get", "pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={NAME},kserve.io/component=workload"
    )["items"]
    endpoints = {f"{p['status']['podIP']}:{p['spec']['containers'][0]['ports'][0]['containerPort']}" for p in pods}
    picked = response.headers.get("x-gateway-destination-endpoint")
    assert picked in endpoints, f"the picked endpoint {picked} is none of the workload pods' {endpoints}"


def test_the_service_reads_back_in_both_versions(kubectl: Kubectl) -> None:
    v1alpha1 = kubectl.json("get", "llminferenceservices.v1alpha1.serving.kserve.io", NAME, "-n", NAMESPACE)
    v1alpha2 = kubectl.json("get", "llminferenceservices.v1alpha2.serving.kserve.io", NAME, "-n", NAMESPACE)
    assert (v1alpha1["apiVersion"], v1alpha2["apiVersion"]) == (
        "serving.kserve.io/v1alpha1",
        "serving.kserve.io/v1alpha2",
    )
    assert (
        v1alpha1["spec"]["model"]
        == v1alpha2["spec"]["model"]
        == {"uri": "hf://facebook/opt-125m", "name": "facebook/opt-125m"}
    )
    assert v1alpha2["status"]["addresses"][0]["origin"]["name"] == "kserve-ingress-gateway"
    assert all("origin" not in a and "models" not in a for a in v1alpha1["status"]["addresses"]), (
        "the v1alpha1 schema has no addresses[].origin/models"
    )
    # Written back as v1alpha2 (a label added), read as v1alpha1: the same spec, no new generation.
    v1alpha2["metadata"]["labels"] = {"round-trip": "v1alpha2"}
    v1alpha2.pop("status")
    for field in ("managedFields", "resourceVersion"):
        v1alpha2["metadata"].pop(field, None)
    kubectl("apply", "-f", "-", stdin=json.dumps(v1alpha2))
    again = kubectl.json("get", "llminferenceservices.v1alpha1.serving.kserve.io", NAME, "-n", NAMESPACE)
    assert again["metadata"]["labels"] == {"round-trip": "v1alpha2"} and again["spec"] == v1alpha1["spec"]
    assert again["metadata"]["generation"] == v1alpha1["metadata"]["generation"]


def test_stop_then_delete_take_the_workload_and_children_away(kubectl: Kubectl) -> None:
    not_ready = kubectl.wait(IDLE, "False", "ReconcileSingleNodeWorkloadError")
    assert "cannot run image" in not_ready.get("message", ""), not_ready
    owned = f"app.kubernetes.io/name={IDLE}"
    assert len(kubectl("get", CHILDREN, "-n", NAMESPACE, "-l", owned, "-o", "name").split()) == 6
    kubectl("annotate", "llmisvc", IDLE, "-n", NAMESPACE, "serving.kserve.io/stop=true")
    stopped = kubectl.wait(IDLE, "False", "Stopped")
    assert stopped["reason"] == "Stopped"
    status = kubectl.json("get", "llmisvc", IDLE, "-n", NAMESPACE)["status"]
    assert "url" not in status and "addresses" not in status, "a stopped service keeps its observed fields"
    assert kubectl("get", CHILDREN + ",pods", "-n", NAMESPACE, "-l", owned, "-o", "name").split() == []
    kubectl("annotate", "llmisvc", IDLE, "-n", NAMESPACE, "serving.kserve.io/stop-")
    kubectl.wait(IDLE, "False", "ReconcileSingleNodeWorkloadError")
    assert kubectl("get", CHILDREN, "-n", NAMESPACE, "-l", owned, "-o", "name").split(), "not recreated"
    kubectl("delete", "llmisvc", IDLE, "-n", NAMESPACE, "--wait=true")
    deadline = time.monotonic() + 60  # the controller collects the children after the delete
    while (left := kubectl("get", CHILDREN + ",pods", "-n", NAMESPACE, "-l", owned, "-o", "name").split()) and (
        time.monotonic() < deadline
    ):
        time.sleep(1)
    assert left == [], f"deleting the service left {left}"
