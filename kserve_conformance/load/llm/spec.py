"""What an LLM load run sends, and when: the request bodies and the open-loop arrival schedule.

The schedule is one global list of intended send times (constant spacing, or Poisson arrivals
from a seeded generator so a run can be repeated exactly); worker *w* of *N* takes every *N*-th
slot, so together the workers send exactly the planned stream and their histograms merge.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import yaml

ARRIVALS = ("constant", "poisson")
KINDS = ("completions", "chat")


@dataclass(frozen=True)
class Prompts:
    max_tokens: int
    prompts: tuple[str, ...]

    @classmethod
    def load(cls, text: str | None = None) -> Prompts:
        """The data file (``load/data/llm-prompts.yaml``), or the given YAML text."""
        if text is None:
            text = resources.files("kserve_conformance.load").joinpath("data/llm-prompts.yaml").read_text()
        doc = yaml.safe_load(text)
        return cls(int(doc["max_tokens"]), tuple(doc["prompts"]))


@dataclass(frozen=True)
class LLMLoadSpec:
    base_url: str  # up to and without /v1: http://host:port[/openai]
    model: str
    rate: float  # streams started per second, all workers together
    duration_s: float
    kind: str = "completions"  # or chat
    arrival: str = "constant"  # or poisson
    seed: int = 0  # the Poisson schedule's
    workers: int = 1
    timeout_s: float = 60.0  # per stream, first byte to [DONE]
    max_tokens: int = 32
    prompts: tuple[str, ...] = ("Hello",)
    ignore_eos: bool = True  # vLLM's extension: generate max_tokens whatever the model says
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Host, when reached through an ingress
    tokenizer: str | None = None  # a tokenizer.json for client-side token counts
    records_dir: str = ""  # where each worker writes its per-request JSONL

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/v1/{'chat/completions' if self.kind == 'chat' else 'completions'}"

    def body(self, i: int) -> bytes:
        prompt = self.prompts[i % len(self.prompts)]
        doc: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0,
        }
        if self.kind == "chat":
            doc["messages"] = [{"role": "user", "content": prompt}]
        else:
            doc["prompt"] = prompt
        if self.ignore_eos:
            doc["ignore_eos"] = True
        return json.dumps(doc).encode()

    def schedule_ns(self) -> list[int]:
        """Every stream's intended send time, in ns from the start of the run (all workers)."""
        total = round(self.rate * self.duration_s)
        if self.arrival == "constant":
            return [int(i * 1e9 / self.rate) for i in range(total)]
        rng = random.Random(self.seed)
        out, t = [], 0.0
        for _ in range(total):
            out.append(int(t * 1e9))
            t += rng.expovariate(self.rate)
        return out

    def slots(self, worker: int) -> list[tuple[int, int]]:
        """This worker's ``(index, offset_ns)``: every ``workers``-th slot of the global schedule."""
        return [(i, t) for i, t in enumerate(self.schedule_ns()) if i % self.workers == worker]

    @property
    def planned(self) -> int:
        return round(self.rate * self.duration_s)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LLMLoadSpec:
        return cls(**{**doc, "prompts": tuple(doc["prompts"])})
