"""The conformance report's verdicts: counted per check, and Gateway API's rule for a profile."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_conformance.reporting.report import ConformanceReport, Result


class Config:
    """What the report reads of pytest's config: options and the stash."""

    def __init__(self) -> None:
        self.stash: dict[Any, Any] = {}

    def getoption(self, name: str) -> str:
        return ""


def report(*results: tuple[str, str, str]) -> dict[str, Any]:
    """A report from (check, level, outcome) rows; repeated checks are several items of one check."""
    r = ConformanceReport(Config())  # type: ignore[arg-type]
    for i, (name, level, outcome) in enumerate(results):
        r.results[f"t.py::test_{name}[{i}]"] = Result(name, f"t.py::test_{name}[{i}]", level, (), outcome)
    return r.document()


def test_one_failed_core_check_fails_the_profile() -> None:
    doc = report(("Infer", "core", "failed"), ("ServerLive", "core", "passed"), ("ServerReady", "core", "passed"))
    core = doc["profiles"]["core"]
    assert core["result"] == "failure"
    assert (core["checks"], core["passed"], core["failed"]) == (3, 2, 1)
    assert core["failedTests"] == ["Infer"]


def test_counts_are_per_check_and_items_are_listed_under_it() -> None:
    doc = report(
        *[("ErrorResponse", "core", "passed")] * 3, ("ErrorResponse", "core", "failed"), ("Infer", "core", "passed")
    )
    core = doc["profiles"]["core"]
    assert (core["checks"], core["failed"], core["passed"]) == (2, 1, 1)
    assert core["failedTests"] == ["ErrorResponse"]
    entry = next(c for c in doc["checks"] if c["name"] == "ErrorResponse")
    assert entry["outcome"] == "failed"
    assert len(entry["items"]) == 4
    assert [i["outcome"] for i in entry["items"]].count("failed") == 1


@pytest.mark.parametrize(
    ("outcome", "result", "listed"),
    [
        ("not-supported", "partial", "unsupportedTests"),
        ("known-deviation", "partial", "knownDeviationTests"),
        ("skipped", "partial", "skippedTests"),
        ("invalid", "partial", "invalidTests"),
        ("not-applicable", "success", "notApplicableTests"),
        ("passed", "success", None),
    ],
)
def test_profile_result_for_each_outcome_beside_a_pass(outcome: str, result: str, listed: str | None) -> None:
    profile = report(("Infer", "extended", "passed"), ("VersionedInfer", "extended", outcome))["profiles"]["extended"]
    assert profile["result"] == result
    if listed:
        assert profile[listed] == ["VersionedInfer"]


def test_a_check_that_passed_somewhere_and_was_not_applicable_elsewhere_passed() -> None:
    doc = report(("ModelReadyV1", "core", "passed"), ("ModelReadyV1", "core", "not-applicable"))
    assert doc["profiles"]["core"]["passed"] == 1
    assert doc["profiles"]["core"]["notApplicable"] == 0


def test_counts_add_up_to_the_checks() -> None:
    outcomes = ("passed", "failed", "skipped", "not-supported", "not-applicable", "known-deviation", "invalid")
    doc = report(*[(f"C{i}", "extended", o) for i, o in enumerate(outcomes)])
    p = doc["profiles"]["extended"]
    counted = (
        p["passed"]
        + p["failed"]
        + p["skipped"]
        + p["notSupported"]
        + p["notApplicable"]
        + p["knownDeviations"]
        + p["invalid"]
    )
    assert counted == p["checks"] == len(outcomes)
    assert p["result"] == "failure"
