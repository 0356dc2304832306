"""Real OpenAI-compatible servers for the self-tests: the one seam where they are started.

Two servers, each serving a tiny causal language model under the name given:

* ``start_hf_standin(name)``: the Hugging Face runtime of the local target, KServe's own OpenAI layer
  (``kserve.protocol.rest.openai``, KServe 0.21, ``OpenAIChatAdapterModel``) under ``/openai``;
* ``start_vllm(name)``: vLLM's own OpenAI server (``python -m vllm.entrypoints.openai.api_server``,
  the kserve-vllmserver runtime's command) at the root, with the flags a small CPU machine needs.

**The seam.** Both run from the local target's generative venv (``kserve_local.generative.env``,
built once per machine and cached; skipped where it cannot be built) on its tiny stand-in model
(``standins``): the Hugging Face runtime is ``python -m kserve_local.generative.huggingface``, the
image the local target runs for kserve-huggingfaceserver. Callers use only ``Server.url``,
``Server.prefix``, ``Server.name`` and ``Server.stop()``.

``KSERVE_CONFORMANCE_HF_URL`` / ``KSERVE_CONFORMANCE_VLLM_URL`` name an already running server to
use instead (vLLM takes about two minutes to start on two cores); such a server is not stopped.
Neither function downloads anything (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from kserve_local.generative import env as generative_env
from kserve_local.generative import standins
from kserve_local.kubelet import free_port

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass
class Server:
    title: str
    name: str  # the served model name
    url: str
    prefix: str  # where the OpenAI API is mounted: "/openai" or ""
    process: subprocess.Popen[bytes] | None = None  # None: started by someone else, not ours to stop
    log: Path | None = None

    def stop(self) -> None:
        """The whole process group (vLLM spawns its engine); only a server this module started."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        except ProcessLookupError:
            pass

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.exists() else ""


def _wait(server: Server, timeout_s: float) -> Server:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            pytest.fail(f"{server.title} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}{server.prefix}/v1/models", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    server.stop()
    pytest.fail(f"{server.title} not ready within {timeout_s:.0f}s:\n{server.log_tail()}")


def _start(title: str, name: str, prefix: str, args: list[str], env: dict[str, str], timeout_s: float) -> Server:
    home = Path(tempfile.mkdtemp(prefix="openai-server-"))
    log = home / "server.log"
    with log.open("wb") as out:  # a file, not a pipe nobody drains
        process = subprocess.Popen(
            ["nice", "-n", "10", *args],
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **OFFLINE, **env},
            start_new_session=True,
        )
    port = next(a.split("=", 1)[1] for a in args if a.startswith(("--http_port=", "--port=")))
    return _wait(Server(title, name, f"http://127.0.0.1:{port}", prefix, process, log), timeout_s)


def _generative_python() -> tuple[Path, Path]:
    """The generative venv's python and the tiny model, built once per machine and cached."""
    try:
        python = generative_env.ensure()
        return python, standins.ensure_model(python)
    except (generative_env.EnvError, standins.ModelBuildError) as err:
        pytest.skip(f"the generative runtimes' venv cannot be built here: {err}")


def start_hf_standin(name: str) -> Server:
    """The local target's Hugging Face runtime (KServe 0.21's OpenAI layer) on the tiny model (~20 s)."""
    if url := os.environ.get("KSERVE_CONFORMANCE_HF_URL"):
        return Server("Hugging Face runtime (given)", name, url.rstrip("/"), "/openai")
    python, model = _generative_python()
    args = [
        str(python),
        "-m",
        "kserve_local.generative.huggingface",
        f"--model_name={name}",
        f"--model_dir={model}",
        f"--http_port={free_port()}",
        f"--grpc_port={free_port()}",
    ]
    env = {"PYTHONPATH": str(standins.PACKAGE_ROOT)}  # the image's own code, as the kubelet runs it
    return _start("Hugging Face runtime (KServe 0.21 OpenAI layer)", name, "/openai", args, env, 300)


def start_vllm(name: str) -> Server:
    """vLLM's own OpenAI server on the tiny model, as the vLLM runtime runs it (~100-130 s, 1.4 GB)."""
    if url := os.environ.get("KSERVE_CONFORMANCE_VLLM_URL"):
        return Server("vLLM (given)", name, url.rstrip("/"), "")
    python, model = _generative_python()
    cache = Path(tempfile.mkdtemp(prefix="vllm-home-"))
    args = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        f"--served-model-name={name}",
        f"--model={model}",
        f"--port={free_port()}",
        "--host=127.0.0.1",
        "--dtype=float32",
        "--max-model-len=256",
        # CPU: no torch.compile (its cache is never reused, 20-100 s per start), a 64 MiB KV cache
        # (without one vLLM sizes memory by the NUMA node and refuses to start).
        "--enforce-eager",
        "--kv-cache-memory-bytes=67108864",
    ]
    env = {
        "HF_HOME": str(cache / "hf"),
        "VLLM_CONFIG_ROOT": str(cache / "config"),
        "VLLM_WORKER_MULTIPROC_METHOD": "spawn",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    return _start("vLLM", name, "", args, env, 600)
