"""Where the load checks run: behind their service's other checks when another service follows,
else at the end; never where they would make pytest deploy a service a second time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fixtures.steps import load_last


@dataclass(frozen=True)
class Entry:
    id: str


@dataclass
class CallSpec:
    params: dict[str, Any]


@dataclass(eq=False)
class Item:
    name: str
    service: str | None = None
    markers: tuple[str, ...] = ()
    callspec: CallSpec = field(init=False)

    def __post_init__(self) -> None:
        self.callspec = CallSpec({"kserve_service_entry": Entry(self.service)} if self.service else {})

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


def names(items: list[Any]) -> list[str]:
    return [i.name for i in items]


def test_a_load_runs_behind_its_service_when_another_service_follows() -> None:
    items = [
        Item("load-a", "a", ("load",)),
        Item("llm-load-a", "a", ("llm_load",)),
        Item("check-a", "a"),
        Item("check-b", "b"),
        Item("load-b", "b", ("load",)),
        Item("rollout"),
    ]
    # a: another service follows, so its loads go behind check-a (LLM load first); b: only checks that
    # deploy their own services follow, so its load runs last, on the service still deployed.
    assert names(load_last(items)) == ["check-a", "llm-load-a", "load-a", "check-b", "rollout", "load-b"]  # type: ignore[arg-type]


def test_a_load_without_a_service_runs_last() -> None:
    items = [Item("load", None, ("load",)), Item("check-a", "a"), Item("check-b", "b")]
    assert names(load_last(items)) == ["check-a", "check-b", "load"]  # type: ignore[arg-type]
