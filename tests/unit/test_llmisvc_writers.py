"""Where the checks that write the shared LLMInferenceService run: behind every check that uses it,
the openai checks through its URL included, whichever group pytest's own ordering put first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fixtures.llmisvc import KIND, writers_last


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str


@dataclass
class CallSpec:
    params: dict[str, Any]


@dataclass(frozen=True)
class Check:
    name: str


@dataclass(frozen=True)
class Marker:
    args: tuple[Check, ...]


@dataclass(eq=False)
class Item:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    check: str = ""

    @property
    def callspec(self) -> CallSpec:
        return CallSpec(self.params)

    def get_closest_marker(self, name: str) -> Marker | None:
        return Marker((Check(self.check),)) if name == "conformance" and self.check else None


LLMISVC = Entry("llmisvc-opt-125m", KIND)
ISVC = Entry("llm-vllm", "InferenceService")


def names(items: list[Any]) -> list[str]:
    return [i.name for i in items]


def test_the_writers_run_behind_the_openai_checks_through_the_service() -> None:
    items = [
        Item("walkthrough", {"kserve_llmisvc_entry": LLMISVC}, "LLMISVCWalkthrough"),
        Item("stop", {"kserve_llmisvc_entry": LLMISVC}, "LLMISVCStop"),
        Item("conversion", {"kserve_llmisvc_entry": LLMISVC}, "LLMISVCConversion"),
        Item("models-isvc", {"kserve_service_entry": ISVC}, "ModelList"),
        Item("models-llmisvc", {"kserve_service_entry": LLMISVC}, "ModelList"),
        Item("load-isvc", {"kserve_service_entry": ISVC}, "LoadSLO"),
    ]
    assert names(writers_last(items)) == [  # type: ignore[arg-type]
        "walkthrough",
        "models-isvc",
        "models-llmisvc",
        "conversion",
        "stop",
        "load-isvc",
    ]


def test_without_a_user_of_the_service_the_writers_run_last() -> None:
    items = [Item("stop", {}, "LLMISVCStop"), Item("models-isvc", {"kserve_service_entry": ISVC}, "ModelList")]
    assert names(writers_last(items)) == ["models-isvc", "stop"]  # type: ignore[arg-type]
