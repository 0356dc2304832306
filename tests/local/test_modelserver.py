"""The local model server is a real KServe ModelServer: V1, V2 REST and V2 gRPC from one process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from open_inference.grpc import protocol as pb
from open_inference.grpc import service as pb_grpc

from kserve_local.kubelet import free_port
from kserve_local.models.iris import build_iris_model

TUTORIAL = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}


class Server:
    def __init__(self, model_dir: Path, *faults: str, name: str = "iris") -> None:
        self.name, self.http, self.grpc = name, free_port(), free_port()
        args = [
            sys.executable,
            "-m",
            "kserve_local.models.modelserver",
            "--model-name",
            name,
            "--model-dir",
            str(model_dir),
            "--http-port",
            str(self.http),
            "--grpc-port",
            str(self.grpc),
        ]
        for fault in faults:
            args += ["--fault", fault]
        # A file, not a pipe: a pipe nobody drains fills up with request logs and blocks the server.
        self.log = tempfile.NamedTemporaryFile(prefix="modelserver-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.http}"

    def wait(self, timeout_s: float = 60) -> Server:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                requests.get(f"{self.url}/v2/health/live", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise TimeoutError("model server did not start")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_iris_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[Server]:
    s = Server(model_dir).wait()
    yield s
    s.stop()


def test_v1_ready_and_tutorial_prediction(server: Server) -> None:
    assert requests.get(f"{server.url}/v1/models/iris").json() == {"name": "iris", "ready": True}
    r = requests.post(f"{server.url}/v1/models/iris:predict", json=TUTORIAL)
    assert r.json() == {"predictions": [1, 1]}


def test_no_log_line_per_request(server: Server) -> None:
    """At 500 requests/s a line per request is the CPU the load needs: KServe's access log and its
    kserve.trace timing lines are quieted; errors would still be logged."""
    before = server.output().count("\n")
    for _ in range(20):
        requests.post(f"{server.url}/v1/models/iris:predict", json=TUTORIAL).raise_for_status()
    new_lines = server.output().splitlines()[before:]
    assert len(new_lines) < 5, f"{len(new_lines)} log lines for 20 predictions: {new_lines[:4]}"


def test_curl_style_body_without_json_content_type(server: Server) -> None:
    r = requests.post(
        f"{server.url}/v1/models/iris:predict",
        data=json.dumps(TUTORIAL),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()) == (200, {"predictions": [1, 1]})


def test_all_three_classes(server: Server) -> None:
    body = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [6.3, 3.3, 6.0, 2.5]]}
    assert requests.post(f"{server.url}/v1/models/iris:predict", json=body).json() == {"predictions": [0, 1, 2]}


def test_v2_rest_infer_echoes_id(server: Server, reference: Path) -> None:
    body = json.loads((reference / "kserve" / "e2e-data" / "iris_input_v2.json").read_text())
    r = requests.post(f"{server.url}/v2/models/iris/infer", json={**body, "id": "req-1"})
    doc = r.json()
    assert (r.status_code, doc["id"], doc["model_name"]) == (200, "req-1", "iris")
    assert doc["outputs"][0]["data"] == [1, 1]


def test_v2_grpc_infer(server: Server) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
        tensor = pb.ModelInferRequest.InferInputTensor(
            name="input-0",
            datatype="FP32",
            shape=[2, 4],
            contents=pb.InferTensorContents(fp32_contents=[6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]),
        )
        reply = stub.ModelInfer(pb.ModelInferRequest(model_name="iris", id="g-1", inputs=[tensor]), timeout=10)
    assert reply.id == "g-1"
    assert reply.model_name == "iris"
    assert list(reply.outputs[0].contents.int64_contents) == [1, 1]


def test_real_kserve_sample_artifact_loads(reference: Path, tmp_path: Path) -> None:
    """The upstream sample (an SVC pickled by an older scikit-learn) serves the same answer."""
    shutil.copy(reference / "kserve" / "models" / "sklearn-iris-v2" / "model.joblib", tmp_path / "model.joblib")
    s = Server(tmp_path).wait()
    try:
        assert requests.post(f"{s.url}/v1/models/iris:predict", json=TUTORIAL).json() == {"predictions": [1, 1]}
    finally:
        s.stop()


def test_missing_model_exits_with_a_clear_line(tmp_path: Path) -> None:
    s = Server(tmp_path / "empty")
    s.process.wait(60)
    output = s.output()
    assert s.process.returncode == 1
    assert "model directory" in output
    assert "does not exist" in output


@pytest.mark.parametrize(
    ("fault", "method", "path", "status"),
    [
        ("server-error", "POST", "/v1/models/iris:predict", 500),
        ("model-not-ready", "GET", "/v1/models/iris", 503),
        ("model-not-ready", "GET", "/v2/models/iris/ready", 503),
    ],
)
def test_faults(model_dir: Path, fault: str, method: str, path: str, status: int) -> None:
    s = Server(model_dir, fault).wait()
    try:
        r = requests.request(method, f"{s.url}{path}", json=TUTORIAL if method == "POST" else None)
        assert r.status_code == status, r.text
    finally:
        s.stop()


def test_wrong_prediction_fault(model_dir: Path) -> None:
    s = Server(model_dir, "wrong-prediction").wait()
    try:
        assert requests.post(f"{s.url}/v1/models/iris:predict", json=TUTORIAL).json() == {"predictions": [2, 2]}
    finally:
        s.stop()
