"""V2 negative controls: each Open Inference Protocol check fails against a server that breaks
exactly its rule; and ``--kserve-endpoint`` mode runs the data-plane checks against a bare server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kserve_local.kubelet import free_port
from kserve_local.models.iris import build_iris_model
from tests.conftest import ISVC_CRD
from tests.controls.runner import Run, run_suite

V2 = (
    "--kserve-services=sklearn-iris-v2",
    "--kserve-ready-timeout=30",
    "--kserve-consistency-timeout=10",
    f"--kserve-local-crd={ISVC_CRD}",
)

# (faults, check by short name [and case], words its failure must contain). Faults joined by "+"
# share one suite run: each breaks a different endpoint or field, so every check still fails for
# its own defect, and CI starts six targets instead of twenty.
CONTROLS = [
    (
        "no-id-echo+wrong-model-name+shape-mismatch+error-as-200",
        "InferEchoesId",
        "request id was 'kserve-conformance-1'",
    ),
    ("no-id-echo+wrong-model-name+shape-mismatch+error-as-200", "InferModelName", "expected 'sklearn-iris-v2'"),
    ("no-id-echo+wrong-model-name+shape-mismatch+error-as-200", "OutputShapeMatchesData", "data elements"),
    (
        "no-id-echo+wrong-model-name+shape-mismatch+error-as-200",
        "ErrorResponse[shape-data-mismatch]",
        "expected an error status, got POST",
    ),
    (
        "missing-error-body+ready-lies+not-ready+health-body-false",
        "ErrorResponse[unknown-model]",
        "404 with an empty body",
    ),
    (
        "missing-error-body+ready-lies+not-ready+health-body-false",
        "ModelReady",
        "a model that does not exist is reported ready",
    ),
    ("missing-error-body+ready-lies+not-ready+health-body-false", "ServerReady", "server ready answered GET"),
    ("missing-error-body+ready-lies+not-ready+health-body-false", "HealthBodies", "the body contradicts the status"),
    (
        MIXED := "not-live+metadata-wrong-name+batch-not-first+lists-version+binary-advertised-broken+error-body-text",
        "ServerLive",
        "server live answered GET",
    ),
    (MIXED, "ModelMetadata", "model metadata names 'other', expected 'sklearn-iris-v2'"),
    (MIXED, "OutputBatchFirst", "output shape [1, 2], batch 2"),
    (MIXED, "VersionedInfer", "/versions/v1/infer"),
    (MIXED, "BinaryTensorInput", "→ 500"),
    (MIXED, "ErrorResponse[unknown-model]", "404 with a body that is not JSON (text/plain"),
    (MIXED, "ErrorBody[wrong-datatype]", "400 with a body that is not JSON (text/plain"),
    (
        "wrong-prediction+bad-input-500+metadata-no-extensions",
        "Infer",
        "infer returned classes [2, 2], expected [1, 1]",
    ),
    (
        "wrong-prediction+bad-input-500+metadata-no-extensions",
        "GrpcModelInfer",
        "ModelInfer returned [2, 2], expected [1, 1]",
    ),
    (
        "wrong-prediction+bad-input-500+metadata-no-extensions",
        "ErrorStatusBadInput[wrong-datatype]",
        "expected a 4xx for the client's bad input",
    ),
    ("wrong-prediction+bad-input-500+metadata-no-extensions", "ServerMetadata", "'extensions' is a required property"),
    ("model-not-ready", "ModelReady", "503"),
    ("model-not-ready", "GrpcModelReady", "returned ready=false"),
    ("server-error", "Infer", "got POST"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    cache: dict[str, Run] = {}

    def run(faults: str) -> Run:
        if faults not in cache:
            cache[faults] = run_suite(
                tmp_path_factory.mktemp("v2"), *V2, *(f"--kserve-local-fault={f}" for f in faults.split("+"))
            )
        return cache[faults]

    return run


@pytest.mark.parametrize(("fault", "check", "words"), CONTROLS, ids=[f"{f}-{c}" for f, c, _ in CONTROLS])
def test_v2_check_fails_naming_the_rule(runs, fault: str, check: str, words: str) -> None:
    verdict = runs(fault).failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"


class Process:
    def __init__(self, *args: str) -> None:
        # Not a pipe: nobody reads it, and a model server logging every request would fill it and block.
        self.process = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def wait_listening(port: int, timeout_s: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no model server on port {port} within {timeout_s:.0f}s")


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A KServe model server started by hand, as docs/options.md tells a runtime author to."""
    model = build_iris_model(tmp_path_factory.mktemp("model"))
    http, grpc_port = free_port(), free_port()
    server = Process(
        "-m",
        "kserve_local.models.modelserver",
        "--model-name",
        "iris",
        "--model-dir",
        str(model),
        "--http-port",
        str(http),
        "--grpc-port",
        str(grpc_port),
    )
    wait_listening(http)
    yield f"http://127.0.0.1:{http}", f"127.0.0.1:{grpc_port}"
    server.stop()


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_endpoint_mode_passes_against_a_bare_server(
    bare_server: tuple[str, str], protocol: str, tmp_path: Path
) -> None:
    url, grpc_target = bare_server
    run = run_suite(
        tmp_path,
        f"--kserve-endpoint={url}",
        "--kserve-model-name=iris",
        f"--kserve-protocol={protocol}",
        f"--kserve-grpc-endpoint={grpc_target}",
    )
    assert run.returncode == 0, run.output[-4000:]
    assert run.outcome("StatusURL") == "skipped"  # control plane: not applicable
    assert "not applicable: --kserve-endpoint" in next(
        v.message for k, v in run.verdicts.items() if v.check == "StatusURL"
    )
    ran = {k for k, v in run.verdicts.items() if v.outcome == "passed"}
    assert any(("test_v2_grpc" if protocol == "v2" else "test_predict_tutorial") in k for k in ran), ran


def test_endpoint_mode_fails_a_broken_bare_server(tmp_path: Path) -> None:
    model = build_iris_model(tmp_path / "model")
    http = free_port()
    server = Process(
        "-m",
        "kserve_local.models.modelserver",
        "--model-name",
        "iris",
        "--model-dir",
        str(model),
        "--http-port",
        str(http),
        "--grpc-port",
        str(free_port()),
        "--fault",
        "wrong-prediction",
    )
    try:
        wait_listening(http)  # the suite ends at once, by design, on an --kserve-endpoint nobody answers
        run = run_suite(
            tmp_path,
            f"--kserve-endpoint=http://127.0.0.1:{http}",
            "--kserve-model-name=iris",
            "--kserve-protocol=v1",
            "--kserve-consistency-timeout=60",
            "-k",
            "predict_tutorial",
        )
    finally:
        server.stop()
    assert "expected exactly {'predictions': [1, 1]}" in run.failed("PredictTutorial").message


GRPC_CONTROLS = [
    ("not-live", "GrpcServerLive", "live=false"),
    ("not-ready", "GrpcServerReady", "returned false"),
    ("no-metadata", "GrpcServerMetadata", "lacks name or version"),
    ("model-not-ready", "GrpcModelReady", "ready=false"),
    ("wrong-metadata-name", "GrpcModelMetadata", "names 'other'"),
    ("no-id-echo", "GrpcModelInfer", "request id was"),
    ("wrong-class", "GrpcModelInfer", "returned [2, 2]"),
    ("unknown-model-ok", "GrpcUnknownModel", "DID NOT RAISE"),
    ("unknown-model-internal", "GrpcUnknownModel", "INTERNAL"),
    ("unknown-model-internal", "GrpcUnknownModelNotFound", "INTERNAL"),
]


@pytest.mark.parametrize(("defect", "check", "words"), GRPC_CONTROLS, ids=[f"{d}-{c}" for d, c, _ in GRPC_CONTROLS])
def test_grpc_check_fails_naming_the_rule(
    bare_server: tuple[str, str], tmp_path: Path, defect: str, check: str, words: str
) -> None:
    port_file = tmp_path / "port"
    broken = Process(str(Path(__file__).with_name("broken_grpc.py")), "iris", defect, str(port_file))
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline
            assert broken.process.poll() is None
            time.sleep(0.05)
        run = run_suite(
            tmp_path,
            f"--kserve-endpoint={bare_server[0]}",
            "--kserve-model-name=iris",
            "--kserve-protocol=v2",
            f"--kserve-grpc-endpoint=127.0.0.1:{port_file.read_text()}",
            "-k",
            "grpc",
        )
    finally:
        broken.stop()
    verdict = run.failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"
