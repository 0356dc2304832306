"""The V2 checks against independent real servers: core must pass, extended may only be excused.

Two servers KServe ships as runtimes, each serving KServe's own sample model
(``../shared/reference/kserve/models/sklearn-iris-v2/model.joblib``) under the name
``sklearn-iris``, each checked in ``--kserve-endpoint`` mode over REST and gRPC exactly as a runtime
author would run the suite:

* KServe's ModelServer (kserve-sklearnserver), from the suite's own environment;
* MLServer 1.7.1 with mlserver-sklearn (kserve-mlserver), from a side environment
  (``tests/envs.py``: it cannot share a venv with kserve 0.21), created once and reused.

Every core check must pass on both. Every extended check that does not pass must be *not
supported* or a listed known deviation. The interop table of ``docs/interop.md`` is rendered from
these runs; when it disagrees with them this test fails (``KSERVE_CONFORMANCE_WRITE_DOCS=1`` rewrites it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from kserve_local.kubelet import free_port
from tests.conftest import REFERENCE, REPO
from tests.controls.runner import run_suite
from tests.envs import ensure

MODEL = REFERENCE / "kserve" / "models" / "sklearn-iris-v2" / "model.joblib"
NAME = "sklearn-iris"
EXCUSED = {"passed", "not-supported", "known-deviation", "not-applicable"}
INTEROP_DOC = REPO / "docs" / "interop.md"
TABLE_START, TABLE_END = "<!-- interop-table: start -->", "<!-- interop-table: end -->"


@dataclass
class Server:
    title: str
    http: int
    grpc: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.title} exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/v2/models/{NAME}/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        pytest.fail(f"{self.title} not ready within {timeout_s:.0f}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """The whole process group: MLServer forks inference workers."""
        with_group = self.process.pid
        try:
            os.killpg(with_group, signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(with_group, signal.SIGKILL)
            self.process.wait(10)
        except ProcessLookupError:
            pass


def start(title: str, args: list[str], cwd: Path, http: int, grpc: int) -> Server:
    log = cwd / "server.log"
    with log.open("wb") as out:  # a file, not a pipe: nobody drains a pipe and the server would block
        process = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(title, http, grpc, process, log)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def kserve_server(reference: Path) -> Iterator[Server]:
    home = Path(tempfile.mkdtemp(prefix="interop-kserve-"))
    shutil.copy(MODEL, home / "model.joblib")
    http, grpc = free_port(), free_port()
    server = start(
        "KServe ModelServer",
        [
            sys.executable,
            "-m",
            "kserve_local.models.modelserver",
            "--model-name",
            NAME,
            "--model-dir",
            str(home),
            "--http-port",
            str(http),
            "--grpc-port",
            str(grpc),
        ],
        home,
        http,
        grpc,
    )
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def mlserver(reference: Path) -> Iterator[Server]:
    bin_dir = ensure("mlserver")
    home = Path(tempfile.mkdtemp(prefix="interop-mlserver-"))
    model_dir = home / NAME
    model_dir.mkdir()
    shutil.copy(MODEL, model_dir / "model.joblib")
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {"name": NAME, "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./model.joblib"}}
        )
    )
    http, grpc = free_port(), free_port()
    (home / "settings.json").write_text(
        json.dumps({"host": "127.0.0.1", "http_port": http, "grpc_port": grpc, "metrics_port": free_port()})
    )
    server = start("MLServer", [str(bin_dir / "mlserver"), "start", str(home)], home, http, grpc)
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def check_outcomes(server: Server, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every V2 check (REST and gRPC) against the server; the report's profiles and checks."""
    run = run_suite(
        tmp,
        f"--kserve-endpoint={server.url}",
        f"--kserve-grpc-endpoint=127.0.0.1:{server.grpc}",
        f"--kserve-model-name={NAME}",
        "--kserve-protocol=v2",
    )
    report = yaml.safe_load((run.report_dir / "conformance-report.yaml").read_text())
    return report, {"output": run.output, "returncode": run.returncode}


RESULTS: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize("which", ["kserve_server", "mlserver"])
def test_core_passes_and_extended_is_only_excused(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server: Server = request.getfixturevalue(which)
    report, run = check_outcomes(server, tmp_path)
    metadata = requests.get(f"{server.url}/v2", timeout=5).json()
    RESULTS[f"{server.title} ({metadata['name']} {metadata['version']})"] = report
    core = report["profiles"]["core"]
    assert core["result"] == "success", f"{server.title}: core {core}\n{run['output'][-3000:]}"
    assert core["passed"] >= 15, core  # V2 REST and gRPC core checks all ran, not only skipped
    unexcused = {c["name"]: c["message"] for c in report["checks"] if c["outcome"] not in EXCUSED}
    assert not unexcused, f"{server.title}: extended checks failed without a known deviation: {unexcused}"
    assert run["returncode"] == 0, run["output"][-3000:]


def render_table(results: dict[str, dict[str, Any]], case: Callable[[str], str] | None = None) -> str:
    """The interop table; ``case`` reads an item's case from its test id (default: the V2 services')."""
    titles = sorted(results)
    rows: dict[str, dict[str, str]] = {}
    levels: dict[str, str] = {}
    for title in titles:
        for check in results[title]["checks"]:
            if check["outcome"] == "not-applicable":
                continue
            levels[check["name"]] = check["level"]
            rows.setdefault(check["name"], {})[title] = cell(check, case or case_of)
    header = f"| check | level | {' | '.join(titles)} |\n| --- | --- |{' --- |' * len(titles)}\n"
    order = sorted(rows, key=lambda n: (levels[n] != "core", n))
    body = "".join(f"| {n} | {levels[n]} | {' | '.join(rows[n].get(t, 'not run') for t in titles)} |\n" for n in order)
    return header + body


def cell(check: dict[str, Any], case: Callable[[str], str]) -> str:
    """A check's outcome in words; known deviations name the inputs they concern."""
    if check["outcome"] == "known-deviation":
        cases = sorted({case(i["test"]) for i in check["items"] if i["outcome"] == "known-deviation"} - {""})
        return f"known deviation ({', '.join(cases)})" if cases else "known deviation"
    return {"passed": "pass", "not-supported": "not supported"}.get(check["outcome"], check["outcome"])


def case_of(test_id: str) -> str:
    params = test_id.partition("[")[2].rstrip("]")
    return params.removeprefix(f"{NAME}-v2-").removeprefix(f"{NAME}-")


def test_docs_table_is_the_interop_run() -> None:
    if len(RESULTS) != 2:
        pytest.fail(f"the interop runs did not both complete ({sorted(RESULTS)}); see the test above")
    table = render_table(RESULTS)
    text = INTEROP_DOC.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    if os.environ.get("KSERVE_CONFORMANCE_WRITE_DOCS"):
        INTEROP_DOC.write_text(text[:start] + "\n" + table + text[end:])
        return
    assert text[start:end].strip() == table.strip(), (
        "docs/interop.md's interop table disagrees with this run; rewrite it with "
        "KSERVE_CONFORMANCE_WRITE_DOCS=1 pytest tests/interop, and review the difference:\n" + table
    )
