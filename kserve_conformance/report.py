"""The conformance report: generated from each check's metadata and outcome, never by hand.

Modelled on Gateway API's ``ConformanceReport``: who the implementation is, what the cluster
was (facts read at the start), and per level (core, extended) a result of success, partial or
failure with the exact counts and the names of the checks that failed or were not supported.
A vendor submits the YAML unmodified; its ``reproduce`` field is the command line that made it.
"""

from __future__ import annotations

import datetime
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance import __version__, certification
from kserve_conformance.spec import INVALID, NOT_APPLICABLE, NOT_SUPPORTED, check_of

FACTS_KEY = pytest.StashKey[dict[str, Any]]()
IMPLEMENTATION_FIELDS = ("organization", "project", "url", "version", "contact")
# A check's measured figures (seconds), recorded with record_property under this prefix.
FIGURE_PREFIX = "kserve-conformance.figure."


def addoptions(parser: pytest.Parser) -> None:
    g = parser.getgroup("kserve-conformance report")
    for name in IMPLEMENTATION_FIELDS:
        g.addoption(f"--implementation-{name}", default="", help=f"implementation {name} for the report")


@dataclass
class Result:
    name: str
    test: str
    level: str
    features: tuple[str, ...]
    outcome: str = "passed"
    message: str = ""
    figures: dict[str, float] = field(default_factory=dict)


@dataclass(eq=False)  # registered as a pytest plugin: pluggy keeps plugins in sets, so it must stay hashable
class ConformanceReport:
    config: pytest.Config
    results: dict[str, Result] = field(default_factory=dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = getattr(report, "conformance_check", None)
        if check is None:
            return
        result = self.results.setdefault(report.nodeid, Result(check.name, report.nodeid, check.level,
                                                               check.features))
        result.figures.update({k.removeprefix(FIGURE_PREFIX): float(v) for k, v in report.user_properties
                               if k.startswith(FIGURE_PREFIX)})
        if report.failed:
            result.message = _first_line(report.longreprtext)
            result.outcome = "invalid" if result.message.startswith(INVALID) else "failed"
        elif report.skipped and hasattr(report, "wasxfail"):
            result.outcome, result.message = "known-deviation", report.wasxfail
        elif report.skipped and result.outcome == "passed":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            result.outcome = ("not-supported" if reason.startswith(NOT_SUPPORTED) else
                              "not-applicable" if reason.startswith(NOT_APPLICABLE) else "skipped")
            result.message = reason

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Name each item's check in JUnit (``<property name="check">``), so tools find checks by name."""
        for item in items:
            check = check_of(item)
            if check is not None:
                item.user_properties.append(("check", check.name))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        check = check_of(item)
        if check is not None:
            outcome.get_result().conformance_check = check

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.results:
            return
        path = Path(self.config.getoption("report_dir")) / "conformance-report.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.document(), sort_keys=False, width=120))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.results:
            path = Path(self.config.getoption("report_dir")) / "conformance-report.yaml"
            summary = self.document()["profiles"]
            terminalreporter.write_sep("-", "kserve conformance")
            for level, s in summary.items():
                terminalreporter.write_line(
                    f"{level}: {s['result']} ({s['checks']} checks: passed {s['passed']}, failed {s['failed']}, "
                    f"skipped {s['skipped']}, not supported {s['notSupported']}, "
                    f"not applicable {s['notApplicable']}, known deviations {s['knownDeviations']}, "
                    f"invalid measurements {s['invalid']})")
            terminalreporter.write_line(f"report: {path}")

    def checks(self) -> list[dict[str, Any]]:
        """One entry per check (its short name), with its pytest items listed under it.

        A check's outcome is the worst of its items': a check that failed for one service or
        one input failed. Not supported and not applicable rank below passed, so a check that
        ran somewhere and passed there counts as passed.
        """
        grouped: dict[str, list[Result]] = {}
        for result in self.results.values():
            grouped.setdefault(result.name, []).append(result)
        checks = []
        for name, items in grouped.items():
            worst = min(items, key=lambda r: OUTCOME_ORDER.index(r.outcome))
            checks.append({"name": name, "level": worst.level, "features": list(worst.features),
                           "outcome": worst.outcome, "message": worst.message,
                           "items": [{"test": r.test, "outcome": r.outcome, "message": r.message,
                                      **({"figures": r.figures} if r.figures else {})} for r in items]})
        return checks

    def document(self) -> dict[str, Any]:
        checks = self.checks()
        profiles: dict[str, Any] = {}
        for level in ("core", "extended"):
            results = [c for c in checks if c["level"] == level]
            if not results:
                continue
            counts = Counter(c["outcome"] for c in results)
            profiles[level] = {
                "result": profile_result(counts), "checks": len(results), "passed": counts["passed"],
                "failed": counts["failed"], "skipped": counts["skipped"], "notSupported": counts["not-supported"],
                "notApplicable": counts["not-applicable"], "knownDeviations": counts["known-deviation"],
                "invalid": counts["invalid"],
                **{key: sorted(c["name"] for c in results if c["outcome"] == outcome)
                   for key, outcome in NAME_LISTS.items()},
            }
        implementation = {f: self.config.getoption(f"implementation_{f}") for f in IMPLEMENTATION_FIELDS}
        return {
            "apiVersion": "conformance.kserve-conformance.io/v1alpha1",
            "kind": "ConformanceReport",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "suiteVersion": __version__,
            "implementation": implementation,
            "cluster": self.config.stash.get(FACTS_KEY, {}),
            "profiles": profiles,
            "checks": checks,
            "reproduce": " ".join(["pytest", *sys.argv[1:]]),
            **certification.report_fields(self.config),
        }


# Worst first: the outcome a check gets from its items.
OUTCOME_ORDER = ("failed", "invalid", "skipped", "known-deviation", "passed", "not-supported", "not-applicable")
NAME_LISTS = {"failedTests": "failed", "invalidTests": "invalid", "skippedTests": "skipped",
              "knownDeviationTests": "known-deviation", "unsupportedTests": "not-supported",
              "notApplicableTests": "not-applicable"}


def profile_result(counts: Counter[str]) -> str:
    """Gateway API's rule: any failed check fails the profile; anything short of a pass is partial.

    An invalid measurement is the suite's failure to measure, not the target's: no verdict on the
    target, so partial, never success. Not applicable (a check about something the run does not
    have at all, e.g. the control plane under ``--endpoint``) does not make a profile partial.
    """
    if counts["failed"]:
        return "failure"
    if counts["skipped"] or counts["not-supported"] or counts["known-deviation"] or counts["invalid"]:
        return "partial"
    return "success"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("E "):
            return line[2:].strip()
    return text.strip().splitlines()[-1] if text.strip() else ""
