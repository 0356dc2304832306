"""Model-name routing through an LLMInferenceService's ``-model-routing`` address, judged as a decision.

A routing decision is only seen in what a request it should not take gets: the requests the check
sends with a header naming no served model (or none) carry a body naming the served model, so a
gateway that routes one to the model anyway has it answered, and the answer counts as a misroute.
What Gateway API requires of the rest is a 404 ("When no rules matching a request have been
successfully attached to the parent a request is coming from, a HTTP 404 status code MUST be
returned."); its body and headers it leaves open, so only the status is held.

The plan (how many requests, which names, the misroute rate and the confidence) is data:
``conformance/data/llmisvc.yaml`` ``model_routing_check``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane.rest import Exchange

PLAN: dict[str, Any] = load_yaml(DATA / "llmisvc.yaml")["model_routing_check"]
NOT_ROUTED = 404  # Gateway API: the status when no rule matches
EXAMPLES = 3  # answers quoted per kind in a failure


def wrong_names(qualified: str) -> list[str]:
    """Model names no service serves, made from the served qualified name by the plan's templates."""
    return [t.format(qualified=qualified, qualified_but_last=qualified[:-1]) for t in PLAN["wrong_names"]]


def answered_by(exchange: Exchange, models: tuple[str, ...]) -> bool:
    """A 2xx completion (JSON with choices) whose ``model`` names one of ``models``: the model answered."""
    if not 200 <= exchange.status < 300:
        return False
    doc, problem = openai.body_json(exchange)
    if problem is not None or not isinstance(doc, dict) or not doc.get("choices"):
        return False
    return any(openai.names_model(m, doc.get("model")) for m in models)


@dataclass
class Tally:
    """What a batch of requests got: how many the model answered, each status, and a few answers of each kind."""

    what: str  # "wrong-header requests (X-Gateway-Model-Name: ...)", for messages
    models: tuple[str, ...]  # the names the served model answers with
    sent: int = 0
    by_model: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, exchange: Exchange | None, error: str = "") -> None:
        """One answer (None: a transport error, described by ``error``)."""
        self.sent += 1
        if exchange is None:
            kind = "transport error"
            seen = error
        else:
            kind = "answered by the model" if answered_by(exchange, self.models) else str(exchange.status)
            self.by_model += kind == "answered by the model"
            seen = exchange.describe()
        self.statuses[kind] += 1
        quoted = self.examples.setdefault(kind, [])
        if len(quoted) < EXAMPLES:
            quoted.append(seen[:300])

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        self.by_model += other.by_model
        self.statuses.update(other.statuses)
        for kind, seen in other.examples.items():
            self.examples.setdefault(kind, []).extend(seen[: EXAMPLES - len(self.examples.get(kind, []))])

    @property
    def not_routed(self) -> int:
        return self.statuses[str(NOT_ROUTED)]

    def counts(self) -> str:
        """``300 wrong-header requests (...): 404 300``: each kind of answer with its count."""
        parts = ", ".join(f"{kind} {n}" for kind, n in sorted(self.statuses.items()))
        return f"{self.sent} {self.what}: {parts or 'none sent'}"

    def seen(self, skip: tuple[str, ...] = ()) -> str:
        """A few answers of each kind not in ``skip``, for a failure message."""
        return "; ".join(
            f"{kind}: {' | '.join(quoted)}" for kind, quoted in sorted(self.examples.items()) if kind not in skip
        )
