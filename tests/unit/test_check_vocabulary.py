"""What a check declares has one vocabulary: levels and features from ``checks/features.py``.

A misspelt feature fails where the check is declared, not in a report; every feature is one some
check declares; and the report and Allure carry a check's rule and spec quote apart, as plain
strings the published schema accepts.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from kserve_conformance.checks import verdict
from kserve_conformance.checks.features import Feature, Level
from kserve_conformance.checks.spec import Check, check_of, conformance
from kserve_conformance.reporting.report import _result
from tests.controls.test_every_check_has_a_control import all_checks


def declared(name: str, rule: str, **kwargs: Any) -> Check:
    mark = conformance(name, rule, **kwargs)
    check: Check = mark.args[0]
    return check


def test_every_feature_is_one_some_check_declares() -> None:
    used = {f for c in all_checks().values() for f in c.features}
    assert set(Feature) - used == set(), "features no check declares: drop them or declare them"


def test_feature_values_are_one_pascal_case_spelling_each() -> None:
    values = [f.value for f in Feature]
    assert len(set(values)) == len(values)
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", v) for v in values), values


def test_levels_keep_the_reports_values() -> None:
    assert [level.value for level in Level] == ["core", "extended"]


def test_a_misspelt_feature_or_level_fails_at_declaration() -> None:
    with pytest.raises(ValueError, match="not a valid Feature"):
        declared("X", "a rule", features=("openai",))
    with pytest.raises(ValueError, match="not a valid Level"):
        declared("X", "a rule", level="Core")


def test_a_spec_must_quote() -> None:
    with pytest.raises(ValueError, match="double quotes"):
        declared("X", "a rule", spec="a paraphrase of the spec")


def test_a_rule_quotes_nothing_its_spec_should() -> None:
    """Quoted sentences belong in spec; a rule may still name JSON ({"error": ...}) or a field ("id")."""
    sentence = re.compile(r'"[^"{}]* [^"{}]* [^"{}]* [^"{}]*"')  # four words or more in quotes (not JSON)
    offenders = {n: c.rule for n, c in all_checks().items() if sentence.search(c.rule)}
    assert not offenders, offenders


def test_the_report_entry_carries_rule_spec_and_plain_strings() -> None:
    check = declared("Demo", "the rule", spec='"a quoted sentence"', level=Level.EXTENDED, features=(Feature.OPENAI,))
    entry = verdict.checks([_result(check, "t.py::test_demo")])[0]
    assert (entry["rule"], entry["spec"]) == ("the rule", '"a quoted sentence"')
    assert (entry["level"], entry["features"]) == ("extended", ["OpenAI"])
    assert type(entry["level"]) is str and all(type(f) is str for f in entry["features"])
    yaml.safe_dump(entry)  # safe YAML knows no enum: a member here would fail the report's write
    schema = json.loads(
        (resources.files("kserve_conformance.reporting") / "data" / "conformance-report.schema.json").read_text()
    )
    jsonschema.validate([entry], schema["properties"]["checks"] | {"$defs": schema["$defs"]})


def test_allure_description_shows_rule_then_spec() -> None:
    check = declared("Demo", "the rule", spec='"a quoted sentence"')
    assert check.description == 'Rule: the rule\n\nSpec: "a quoted sentence"'
    assert declared("Demo", "the rule").description == "Rule: the rule"


def test_check_of_reads_the_declared_check() -> None:
    @conformance("Demo", "the rule")
    def test_demo() -> None: ...

    class Item:
        def get_closest_marker(self, name: str) -> Any:
            return test_demo.pytestmark[0] if name == "conformance" else None  # type: ignore[attr-defined]

    found = check_of(Item())  # type: ignore[arg-type]
    assert found is not None and found.rule == "the rule"
