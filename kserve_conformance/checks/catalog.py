"""The services and payloads the checks run over: data files under ``conformance/data``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DATA = Path(str(resources.files("kserve_conformance.conformance") / "data"))
# The data planes a service speaks: KServe's V1 and V2 (Open Inference Protocol), and the
# OpenAI-compatible API of its generative runtimes (Hugging Face, vLLM).
PROTOCOLS = ("v1", "v2", "openai")
# The kinds of object a service is: KServe's InferenceService, or its LLMInferenceService (an
# optional component of KServe, whose checks are conformance/test_llmisvc.py), or a routing group
# of LLMInferenceServices (one manifest file, a document per member: conformance/test_llmisvc_split.py).
KINDS = ("InferenceService", "LLMInferenceService", "LLMInferenceServiceGroup")


@dataclass(frozen=True)
class ServiceEntry:
    id: str
    description: str
    manifest_path: Path
    protocol: str
    model_format: str
    payloads_path: Path
    kind: str = "InferenceService"
    # Run only when --kserve-services names it: a service whose checks are not yet in the default run.
    opt_in: bool = False

    @property
    def manifest_text(self) -> str:
        return self.manifest_path.read_text()

    @property
    def payloads(self) -> dict[str, Any]:
        payloads: dict[str, Any] = load_yaml(self.payloads_path)
        return payloads


@cache
def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def services(selected: str | None = None, *, every: bool = False) -> list[ServiceEntry]:
    """The services ``selected`` names (comma-separated ids); without a selection, all but the opt-in
    ones (``every``: those too)."""
    wanted = {s.strip() for s in selected.split(",")} if selected else None
    entries = [
        ServiceEntry(
            e["id"],
            e["description"],
            DATA / e["manifest"],
            e["protocol"],
            e["modelFormat"],
            DATA / e["payloads"],
            e.get("kind", "InferenceService"),
            bool(e.get("optIn", False)),
        )
        for e in load_yaml(DATA / "services.yaml")
    ]
    for e in entries:
        if e.protocol not in PROTOCOLS:
            raise ValueError(f"service {e.id}: protocol {e.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if e.kind not in KINDS:
            raise ValueError(f"service {e.id}: kind {e.kind!r} is not one of {', '.join(KINDS)}")
    if wanted is None and not every:
        return [e for e in entries if not e.opt_in]
    if wanted is not None:
        unknown = wanted - {e.id for e in entries}
        if unknown:
            raise ValueError(f"unknown service ids {sorted(unknown)}; known: {[e.id for e in entries]}")
        entries = [e for e in entries if e.id in wanted]
    return entries
