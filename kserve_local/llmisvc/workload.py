"""The single-node workload of an LLMInferenceService: its pods as real vLLM processes.

The composed pod template's ``main`` container becomes the kubelet's :class:`Launch`: a vLLM
image (``data/images.yaml``) runs as the local vLLM image with the container's command line
(the preset's ``vllm.entrypoints.openai.api_server`` flags, then the container's ``args``); the
model at ``/mnt/models`` is the service's ``spec.model.uri``, which the kubelet maps to the tiny
stand-in model when the stand-in table knows it (``hf://facebook/opt-125m``). Environment
variables naming container paths (``HOME=/home``) are left out: the pod's paths are the kubelet's.
Two flags this machine needs are added (``LOCAL_FLAGS``: a 64 MiB KV cache, eager mode).

:class:`LlmKubelet` names and labels the pods as a Deployment's ReplicaSet does for KServe's
workload (``NAME-kserve-<hash>-<suffix>``, the workload labels, container ``main``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kserve_local.images import MOUNT, flag_values, images
from kserve_local.kubelet import Kubelet, Launch, PodOwner, Replica, pod_suffix
from kserve_local.llmisvc.children import owner_reference, workload_labels

Obj = dict[str, Any]
LOCAL_VLLM = "kserve-conformance/local-vllmserver"
IMAGES = Path(__file__).parent / "data" / "images.yaml"
# What this machine needs that a CPU node does not, added unless the container sets them: a small
# KV cache (vLLM's CPU backend otherwise reserves 92 % of the node's memory and refuses to start
# when other processes hold some of it) and eager mode (torch.compile's minutes are never reused
# on CPU). The same choices as the Hugging Face runtime's vLLM backend here.
LOCAL_FLAGS: dict[str, str | None] = {"--kv-cache-memory-bytes": str(64 * 1024 * 1024), "--enforce-eager": None}
NO_PREFIX_CACHING = "--no-enable-prefix-caching"


class NotRunnable(ValueError):
    """The workload's container cannot run on this target (its message says why)."""


@cache
def vllm_images() -> tuple[str, ...]:
    return tuple(yaml.safe_load(IMAGES.read_text())["vllm"])


def repository(image: str) -> str:
    """``image`` without its tag or digest."""
    name = image.split("@")[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def launch(llmisvc: Obj, spec: Obj, prefix_caching: bool = True) -> Launch:
    """How each replica runs: the main container's vLLM command line, for this service's model;
    without ``prefix_caching`` (the ``llmisvc-prefix-caching-off`` fault), with vLLM's
    ``--no-enable-prefix-caching`` appended, as a config that turns it off would."""
    containers = (spec.get("template") or {}).get("containers") or []
    main = next((c for c in containers if c.get("name") == "main"), None)
    if main is None:
        raise NotRunnable("the pod template has no container named main")
    image = main.get("image", "")
    if repository(image) not in vllm_images():
        raise NotRunnable(f"the local target cannot run image {image!r}: only vLLM images ({IMAGES.name}) run here")
    entrypoint = list(images()[LOCAL_VLLM].entrypoint)
    command = list(main.get("command") or entrypoint)
    if command[: len(entrypoint)] != entrypoint:
        raise NotRunnable(f"the local target runs vLLM's API server ({' '.join(entrypoint)}), not {command!r}")
    uri = (spec.get("model") or {}).get("uri", "")
    flags = [*command[len(entrypoint) :], *(str(a) for a in main.get("args") or [])]
    flags = [f.replace(MOUNT, uri) if uri else f for f in flags]
    for flag, value in LOCAL_FLAGS.items():
        if not flag_values(flags, flag) and flag not in flags:
            flags += [flag] if value is None else [f"{flag}={value}"]
    if not prefix_caching:
        flags.append(NO_PREFIX_CACHING)
    env = tuple(
        (e["name"], str(e["value"]))
        for e in main.get("env") or []
        if "value" in e and not str(e["value"]).startswith("/")
    )
    name = (spec.get("model") or {}).get("name") or llmisvc["metadata"]["name"]
    return Launch(
        model_name=name,
        model_dir=None,
        protocol="openai",
        runtime="llminferenceservice",
        args=tuple(flags),
        env=env,
        image=LOCAL_VLLM,
        readiness_path=((main.get("readinessProbe") or {}).get("httpGet") or {}).get("path") or "/health",
    )


def template_hash(template: Obj) -> str:
    """The pod-template-hash label: stable for a template, new for a changed one."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(eq=False)
class Workload:
    """The workload Deployment's current ReplicaSet: its replicas are the kubelet's."""

    isvc: str
    namespace: str
    deployment: str
    launch: Launch
    hash: str
    labels: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)
    failure: str = ""  # why the last replica stopped or never started, for the condition's message
    scaling: asyncio.Task[None] | None = field(default=None, repr=False)  # the kubelet's scale in progress
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    @property
    def name(self) -> str:
        return self.deployment

    def ready_replicas(self) -> list[Replica]:
        return [r for r in self.replicas if r.ready]

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class LlmKubelet(Kubelet):
    """The kubelet, for pods of KServe's LLM workload Deployments."""

    container_name = "main"

    def new_pod_name(self, owner: PodOwner) -> str:
        assert isinstance(owner, Workload)
        return f"{owner.deployment}-{owner.hash}-{pod_suffix()}"

    def pod_metadata(self, isvc: Obj, owner: PodOwner) -> Obj:
        assert isinstance(owner, Workload)
        return {
            "labels": {**owner.labels, "pod-template-hash": owner.hash},
            "ownerReferences": [{**owner_reference(isvc), "blockOwnerDeletion": True}],
        }


def labels_for(llmisvc: Obj) -> dict[str, str]:
    return workload_labels(llmisvc["metadata"]["name"])
