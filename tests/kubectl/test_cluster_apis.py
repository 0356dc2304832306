"""describe, events (core and events.k8s.io), auth can-i / whoami and health endpoints (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.kubectl.conftest import WAIT_TIMEOUT_S, Kubectl, run_kubectl
from tests.kubectl.test_watch import ISVC

NS = "cluster-apis"


@pytest.fixture(scope="module")
def ready_isvc(kubectl: Kubectl) -> str:
    kubectl("create", "namespace", NS)
    kubectl("apply", "-n", NS, "-f", "-", stdin=ISVC.format(name="iris"))
    kubectl(
        "wait",
        "--for=condition=Ready",
        "isvc/iris",
        "-n",
        NS,
        f"--timeout={WAIT_TIMEOUT_S:.0f}s",
        timeout=WAIT_TIMEOUT_S + 10,
    )
    return "iris"


def test_describe_shows_conditions_and_events(kubectl: Kubectl, ready_isvc: str) -> None:
    out = kubectl("describe", "isvc", ready_isvc, "-n", NS).stdout
    assert "Conditions:" in out
    assert "Type:                  Ready" in out
    events = out[out.index("Events:") :]
    assert "InferenceServiceReady" in events
    assert "<none>" not in events.splitlines()[0]


def test_events_api_shows_the_same_events(kubectl: Kubectl, ready_isvc: str) -> None:
    core = json.loads(kubectl("get", "events", "-n", NS, "-o", "json").stdout)["items"]
    new = json.loads(kubectl("get", "events.events.k8s.io", "-n", NS, "-o", "json").stdout)["items"]
    assert [e["metadata"]["name"] for e in new] == [e["metadata"]["name"] for e in core]
    ready = next(e for e in new if e["reason"] == "InferenceServiceReady")
    assert ready["apiVersion"] == "events.k8s.io/v1"
    assert ready["regarding"]["name"] == ready_isvc
    assert ready["note"]
    assert ready["reportingController"]
    table = kubectl("get", "events.events.k8s.io", "-n", NS).stdout.splitlines()
    assert table[0].split()[:3] == ["LAST", "SEEN", "TYPE"]


def test_events_v1_is_read_only(kubectl: Kubectl) -> None:
    """Negative control: writes to the view are refused, not silently dropped."""
    done = kubectl("delete", "events.events.k8s.io", "--all", "-n", NS, check=False)
    assert (done.returncode != 0 and "MethodNotAllowed" in done.stderr + done.stdout) or "not allowed" in done.stderr


def test_auth_can_i_and_whoami(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "create", "inferenceservices").stdout.strip() == "yes"
    assert "local" in kubectl("auth", "whoami").stdout


def test_can_i_agrees_with_a_forbidding_target(tmp_path: Path) -> None:
    """Negative control: where creating is forbidden, can-i says no, naming why."""
    process = LocalTargetProcess(LocalOptions(faults=["forbid-create"]), state_dir=tmp_path / "target")
    process.start()
    try:
        done = run_kubectl(process.kubeconfig, tmp_path / "cache", "auth", "can-i", "create", "isvc", check=False)
    finally:
        process.stop()
    assert done.returncode == 1
    assert done.stdout.startswith("no")
    assert "forbid-create" in done.stdout


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_endpoints(kubectl: Kubectl, path: str) -> None:
    assert kubectl("get", "--raw", path).stdout == "ok"
    assert f"{path.strip('/')} check passed" in kubectl("get", "--raw", f"{path}?verbose").stdout


def test_get_all_and_version_without_skew_warning(kubectl: Kubectl) -> None:
    assert "service/istio-ingressgateway" in kubectl("get", "all", "-n", "istio-system").stdout
    done = kubectl("version")
    assert "Server Version: v1." in done.stdout
    assert "version difference" not in done.stderr
