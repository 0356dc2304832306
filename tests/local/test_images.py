"""What the kubelet makes of a generative runtime's container: the runtime's own command line, per pod.

Every container here shares one machine, so the kubelet rewrites what a pod would have to itself
(the port, ``/mnt/models``, ``HF_HOME``) and nothing else; a hub id the tiny model stands in for is
rewritten to its directory and said so in the pod log. No process is started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_local.apiserver.events import Recorder
from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.generative import standins
from kserve_local.images import flag_values, images, set_flag
from kserve_local.kubelet import Kubelet, Launch

VLLM_ARGS = ("--port=8080", "--served-model-name=llm", "--model=/mnt/models")


def kubelet(tmp_path: Path) -> Kubelet:
    store = Store(RESOURCES)
    return Kubelet(store, tmp_path, {}, Recorder(store))


def test_set_flag_replaces_both_spellings_or_appends() -> None:
    assert set_flag(["--port=8080", "--x"], "--port", "1") == ["--port=1", "--x"]
    assert set_flag(["--port", "8080", "--x"], "--port", "1") == ["--port=1", "--x"]
    assert set_flag(["--portable=1"], "--port", "2") == ["--portable=1", "--port=2"]
    assert flag_values(["--model=/a", "--model", "b", "--model_id=c"], "--model") == ["/a", "b"]


def test_the_seeded_images_are_known_and_the_sklearn_one_is_not_generative() -> None:
    table = images()
    assert not table["kserve-conformance/local-modelserver"].generative
    assert table["kserve-conformance/local-vllmserver"].entrypoint == (
        "python",
        "-m",
        "vllm.entrypoints.openai.api_server",
    )
    assert table["kserve-conformance/local-huggingfaceserver"].probe == "/v1/models/{name}"


def test_vllm_runs_the_runtimes_command_with_its_own_port_and_model_dir(tmp_path: Path) -> None:
    launch = Launch(
        "llm",
        tmp_path / "model",
        "v1",
        "kserve-vllmserver",
        (*VLLM_ARGS, "--enforce-eager"),
        image="kserve-conformance/local-vllmserver",
        command=("python", "-m", "vllm.entrypoints.openai.api_server"),
        readiness_path="/v1/models",
        notes=("hf://x is served by the local stand-in",),
    )
    log = tmp_path / "pod.log"
    argv, env = kubelet(tmp_path).generative_container(launch, "pod-1", 4321, 4322, Path("/venv/bin/python"), log)
    assert argv == [
        "/venv/bin/python",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--port=4321",
        "--served-model-name=llm",
        f"--model={tmp_path / 'model'}",
        "--enforce-eager",
    ]
    assert env["HF_HOME"] == env["VLLM_CONFIG_ROOT"] == str(tmp_path / "pods" / "pod-1" / "tmp")
    assert env["HF_HUB_OFFLINE"] == "1"
    assert "hf://x is served by the local stand-in" in log.read_text()
    assert Kubelet.probe_path(launch) == "/v1/models", "the runtime's readinessProbe path"


def test_a_hub_id_in_vllms_model_flag_becomes_the_tiny_model(tmp_path: Path) -> None:
    launch = Launch(
        "llm",
        None,
        "v1",
        "kserve-vllmserver",
        (*VLLM_ARGS, "--model", "Qwen/Qwen2-0.5B"),
        image="kserve-conformance/local-vllmserver",
        command=("python", "-m", "vllm.entrypoints.openai.api_server"),
    )
    log = tmp_path / "pod.log"
    argv, _ = kubelet(tmp_path).generative_container(launch, "pod-2", 1, 2, Path("/py"), log)
    assert flag_values(argv, "--model") == [str(standins.model_dir())] * 2
    assert "Qwen/Qwen2-0.5B is served by the local stand-in model tiny-lm" in log.read_text()


@pytest.mark.parametrize(("model_dir", "expected"), [(None, []), (Path("/models/x"), ["--model_dir=/models/x"])])
def test_the_hf_server_gets_its_ports_and_the_storage_directory(
    model_dir: Path | None, expected: list[str], tmp_path: Path
) -> None:
    launch = Launch(
        "llm",
        model_dir,
        "v1",
        "kserve-huggingfaceserver",
        ("--model_name=llm", "--model_id=Qwen/Qwen2-0.5B-Instruct"),
        image="kserve-conformance/local-huggingfaceserver",
    )
    argv, env = kubelet(tmp_path).generative_container(launch, "p", 11, 12, Path("/py"), tmp_path / "p.log")
    assert argv == [
        "/py",
        "-m",
        "kserve_local.generative.huggingface",
        "--model_name=llm",
        "--model_id=Qwen/Qwen2-0.5B-Instruct",
        *expected,
        "--http_port=11",
        "--grpc_port=12",
    ]
    assert env["PYTHONPATH"] == standins.PACKAGE_ROOT
    assert Kubelet.probe_path(launch) == "/v1/models/llm", "what KServe's server answers when ready"


def test_a_missing_venv_is_pulled_with_events_and_a_present_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kubelet's image pull: Pulling then Pulled while the venv builds; Pulled alone when it exists."""
    import asyncio

    from kserve_local.generative import env as generative_env

    built: list[str] = []
    monkeypatch.setattr(generative_env, "is_built", lambda: bool(built))
    monkeypatch.setattr(generative_env, "ensure", lambda: built.append("venv") or Path("/venv/bin/python"))
    monkeypatch.setattr(standins, "ensure_model", lambda python: built.append(f"model with {python}"))
    monkeypatch.setattr(standins, "is_built", lambda: bool(built))
    recorded: list[tuple[str, str]] = []
    node = kubelet(tmp_path)

    async def record(obj: object, kind: str, reason: str, message: str) -> None:
        recorded.append((reason, message))

    monkeypatch.setattr(node.events, "record", record)
    image = "kserve-conformance/local-vllmserver"
    assert asyncio.run(node.pull({}, image)) == Path("/venv/bin/python")
    assert built == ["venv", "model with /venv/bin/python"]
    assert [r for r, _ in recorded] == ["Pulling", "Pulled"] and image in recorded[0][1], recorded
    recorded.clear()
    asyncio.run(node.pull({}, image))
    assert recorded == [("Pulled", f'Container image "{image}" already present on machine')]
    assert built == ["venv", "model with /venv/bin/python"], "nothing is built twice"
