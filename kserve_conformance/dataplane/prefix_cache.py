"""What the prefix-aware routing checks read of each LLM workload pod's own vLLM metrics.

Each pod's ``/metrics`` is one :class:`~kserve_conformance.dataplane.metrics.Snapshot` (parsed
by prometheus_client's parser); the checks compare a scrape taken right before their requests
with one right after. The counters are named in ``conformance/data/llmisvc.yaml``
(``prefix_routing.counters``), newest vLLM name first: vLLM 0.10 renamed
``vllm:gpu_prefix_cache_hits`` to ``vllm:prefix_cache_hits``, and a cluster may run either.
A pod that exports none of a counter's names does not support the check (absent is not zero).
``vllm:cache_config_info`` carries the engine's cache settings as labels
(``enable_prefix_caching``, ``block_size``), which a failure quotes: a hit counter that stays
still on an engine with prefix caching off is that configuration, said so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane.metrics import Snapshot

PLAN: dict[str, Any] = load_yaml(DATA / "llmisvc.yaml")["prefix_routing"]
COUNTERS: dict[str, list[str]] = PLAN["counters"]
CONFIG_INFO: str = PLAN["config_info"]


def counter_name(snapshot: Snapshot, kind: str) -> str | None:
    """The first of ``kind``'s names (``hits``, ``queries``, ``requests``) the scrape has a sample of."""
    names = snapshot.names()
    return next((n for n in COUNTERS[kind] if n in names), None)


def value(snapshot: Snapshot, kind: str) -> float | None:
    """``kind``'s counter summed over its series (every engine, every finish reason); None when absent."""
    name = counter_name(snapshot, kind)
    return snapshot.total(name, {}) if name is not None else None


def cache_config(snapshot: Snapshot) -> dict[str, str]:
    """The labels of ``vllm:cache_config_info`` (the first series), empty when the pod exports none."""
    found = snapshot.matching(CONFIG_INFO, {})
    return dict(next(iter(found))) if found else {}


@dataclass(frozen=True)
class PodRise:
    """How one pod's counters moved between two scrapes (None: the pod exports no such counter)."""

    pod: str
    hits: float | None
    queries: float | None
    requests: float | None
    config: Mapping[str, str]

    def caching_off(self) -> bool:
        return self.config.get("enable_prefix_caching", "").lower() == "false"

    def describe(self) -> str:
        parts = [
            f"{kind} {'absent' if v is None else f'+{v:g}'}"
            for kind, v in (("requests", self.requests), ("prefix-cache queries", self.queries), ("hits", self.hits))
        ]
        settings = ", ".join(
            f"{k}={self.config[k]}" for k in ("enable_prefix_caching", "block_size") if k in self.config
        )
        return f"pod {self.pod}: {', '.join(parts)}" + (f" ({CONFIG_INFO} {settings})" if settings else "")


def rise(pod: str, before: Snapshot, after: Snapshot) -> PodRise:
    def moved(kind: str) -> float | None:
        now = value(after, kind)
        return None if now is None else now - (value(before, kind) or 0.0)

    return PodRise(pod, moved("hits"), moved("queries"), moved("requests"), cache_config(after))


def total(rises: Sequence[PodRise], kind: str) -> float | None:
    """``kind``'s rise summed over the pods that export it; None when none does."""
    values = [getattr(r, kind) for r in rises if getattr(r, kind) is not None]
    return sum(values) if values else None


def prompt(index: int) -> str:
    """Request ``index`` (1-based): the shared prefix, then a question of its own."""
    return f"{PLAN['prefix'].strip()}\n{PLAN['suffix'].format(index=index)}"


def completion_body(model: str, index: int) -> dict[str, Any]:
    return {"model": model, "prompt": prompt(index), "max_tokens": PLAN["max_tokens"], "temperature": 0}
