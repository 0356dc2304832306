"""The walk-through's steps 1-5 (docs/walkthrough.md) with the real kubectl, command by command as the
tutorial writes them.

Each command is bounded (a hang fails, naming the command); nothing here asserts speed. The time
of each step is recorded in the test's ``user_properties`` and printed, for reports.
The negative control runs the same walk-through against a target whose model predicts wrongly
and asserts it fails at step 5, saying so.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.conftest import REPO
from tests.kubectl.conftest import WAIT_TIMEOUT_S, Kubectl, run_kubectl

MANIFEST = (REPO / "conformance" / "data" / "manifests" / "sklearn-iris.yaml").read_text()  # the walk-through's step 2
INPUT = '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}'
PREDICT_TIMEOUT_S = 30.0


def walkthrough(kubectl: Kubectl, workdir: Path, timings: dict[str, float]) -> None:
    """The tutorial's commands; fails with the step and what it showed when one goes wrong."""

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        timings[name] = time.perf_counter() - start

    def expect(condition: bool, what: str) -> None:
        if not condition:
            pytest.fail(what)

    with step("1 create namespace"):
        out = kubectl("create", "namespace", "kserve-test").stdout
        expect("namespace/kserve-test created" in out, f"step 1: {out!r}")

    manifest = workdir / "sklearn-iris.yaml"
    manifest.write_text(MANIFEST)
    with step("2 apply -f"):
        out = kubectl("apply", "-n", "kserve-test", "-f", str(manifest)).stdout
        expect("inferenceservice.serving.kserve.io/sklearn-iris created" in out, f"step 2: {out!r}")

    with step("3a wait --for=condition=Ready"):
        kubectl(
            "wait",
            "--for=condition=Ready",
            "inferenceservice/sklearn-iris",
            "-n",
            "kserve-test",
            f"--timeout={WAIT_TIMEOUT_S:.0f}s",
            timeout=WAIT_TIMEOUT_S + 10,
        )
    with step("3b get inferenceservices"):
        lines = kubectl("get", "inferenceservices", "sklearn-iris", "-n", "kserve-test").stdout.splitlines()
        row = dict(zip(lines[0].split(), lines[1].split(), strict=False))
        expect(
            row.get("READY") == "True" and row.get("URL", "").startswith("http://sklearn-iris.kserve-test."),
            f"step 3: kubectl get shows {row}",
        )
        expect(row.get("LATEST") == "100", f"step 3: LATEST is {row.get('LATEST')!r}, not 100")
    with step("3c jsonpath status.url"):
        url = kubectl(
            "get", "inferenceservice", "sklearn-iris", "-n", "kserve-test", "-o", "jsonpath={.status.url}"
        ).stdout
        service_hostname = urlsplit(url).hostname  # the tutorial's `cut -d "/" -f 3`
        expect(bool(service_hostname), f"step 3: status.url {url!r} has no host")

    with step("4 ingress host and port"):
        svc = ("-n", "istio-system", "get", "service", "istio-ingressgateway")
        host = kubectl(*svc, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout
        port = kubectl(*svc, "-o", 'jsonpath={.spec.ports[?(@.name=="http2")].port}').stdout
        expect(bool(host) and port.isdigit(), f"step 4: ingress {host!r}:{port!r}")

    with step("5 predict (curl -d)"):
        answer = requests.post(
            f"http://{host}:{port}/v1/models/sklearn-iris:predict",
            data=INPUT,
            headers={"Host": str(service_hostname), "Content-Type": "application/x-www-form-urlencoded"},
            timeout=PREDICT_TIMEOUT_S,
        )
        expect(
            answer.status_code == 200 and answer.json() == {"predictions": [1, 1]},
            f'step 5: predict answered {answer.status_code} {answer.text[:200]!r}, expected {{"predictions": [1, 1]}}',
        )

    with step("cleanup delete inferenceservice"):
        out = kubectl("delete", "inferenceservice", "sklearn-iris", "-n", "kserve-test").stdout
        expect("deleted" in out, f"cleanup: {out!r}")
    with step("cleanup delete namespace"):
        out = kubectl("delete", "namespace", "kserve-test").stdout
        expect("deleted" in out, f"cleanup: {out!r}")


def test_seed_walkthrough(kubectl: Kubectl, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    timings: dict[str, float] = {}
    walkthrough(kubectl, tmp_path, timings)
    for name, seconds in timings.items():
        request.node.user_properties.append((f"seconds: {name}", round(seconds, 3)))
    print("\n" + "\n".join(f"  {seconds:7.3f} s  {name}" for name, seconds in timings.items()))


def test_walkthrough_fails_on_a_wrong_prediction(tmp_path: Path) -> None:
    """Negative control: a target whose model is off by one fails at step 5, with the answer shown."""
    process = LocalTargetProcess(LocalOptions(faults=["wrong-prediction"]), state_dir=tmp_path / "target")
    process.start()
    try:

        def kubectl(*args: str, **kwargs: object):  # type: ignore[no-untyped-def]
            return run_kubectl(process.kubeconfig, tmp_path / "cache", *args, **kwargs)  # type: ignore[arg-type]

        with pytest.raises(pytest.fail.Exception, match=r"step 5: predict answered 200 .*predictions.*\[2, ?2\]"):
            walkthrough(kubectl, tmp_path, {})
    finally:
        process.stop()
