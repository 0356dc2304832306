"""Each check's metadata in the Allure report, so the tree reads level → area → check.

allure-pytest would group by Python package and module ("conformance", then "test_v2_rest") and
title each result with the function name. A person reading the report wants the check's short
name, its rule and the spec sentence it rests on (the description: "Rule: ..." then "Spec: ..."),
and where it belongs: the level (core, extended) as the parent suite, the area (control plane,
V1, V2 REST, ...; ``data/areas.yaml``) as the suite, and the level, area, features and service
as labels. Labels are added as allure-pytest's own markers at
collection, so its listener applies them exactly as if the checks had been decorated by hand.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import allure
import pytest
import yaml

from kserve_conformance.checks.spec import Check


@cache
def areas() -> dict[str, str]:
    table: dict[str, str] = yaml.safe_load(
        (resources.files("kserve_conformance.reporting") / "data" / "areas.yaml").read_text()
    )
    return table


def area_of(item: pytest.Item) -> str:
    module = getattr(item, "module", None)
    return area_for(module.__name__.rpartition(".")[2] if module is not None else "")


def area_for(module: str) -> str:
    """The module's area; a module a family splits into (``test_llmisvc_routing``) takes its family's
    (``test_llmisvc``), so the family reads as one area however many files its checks are in."""
    family = module
    while family not in areas() and "_" in family.removeprefix("test_"):
        family = family.rpartition("_")[0]
    return areas().get(family, module.removeprefix("test_").replace("_", " "))


def label(item: pytest.Item, label_type: str, *values: str) -> None:
    item.add_marker(pytest.mark.allure_label(*values, label_type=label_type))


def label_items(items: list[tuple[pytest.Item, Check]]) -> None:
    for item, check in items:
        area = area_of(item)
        label(item, "parentSuite", check.level)
        label(item, "suite", area)
        label(item, "epic", check.level)
        label(item, "feature", area)
        label(item, "story", check.name)
        label(item, "level", check.level)
        label(item, "area", area)
        if check.features:
            label(item, "tag", *check.features)
        item.add_marker(pytest.mark.allure_description(check.description))
        function = getattr(item, "function", None)
        if function is not None:
            function.__allure_display_name__ = check.name + (" [{param_id}]" if hasattr(item, "callspec") else "")


def parameters(item: pytest.Item) -> None:
    """Services by their id (allure-pytest would print the whole catalog entry's repr)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return
    for name, value in callspec.params.items():
        shown: Any = getattr(value, "id", None) or (value.get("id") if isinstance(value, dict) else None)
        if shown is not None:
            allure.dynamic.parameter(name, shown)
            if name == "kserve_service_entry":
                allure.dynamic.label("service", shown)


def title_path(item: pytest.Item, check: Check) -> None:
    """Allure 3 builds its tree from ``titlePath`` (allure-pytest sets the file path): level → area.

    allure-pytest has no public way to set it, so the current result is reached through its
    listener; if that ever changes, the Suites labels above still give the same tree.
    """
    listener = item.config.pluginmanager.get_plugin("allure_listener")
    if listener is None:  # allure-pytest not active in this run
        return
    try:
        result = listener.allure_logger.get_test(listener._cache.get(item.nodeid))
        result.titlePath = [check.level, area_of(item)]
    except AttributeError:
        return
