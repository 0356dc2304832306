"""The conformance report: generated from each check's metadata and outcome, never by hand.

Modelled on Gateway API's ``ConformanceReport``: who the implementation is, what the cluster
was (facts read at the start), and per level (core, extended) a result of success, partial or
failure with the exact counts and the names of the checks that failed or were not supported.
A vendor submits the YAML unmodified; its ``reproduce`` field is the command line that made it.
"""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance import __version__
from kserve_conformance.certification import rules as certification
from kserve_conformance.checks import verdict
from kserve_conformance.checks.spec import INVALID, NOT_APPLICABLE, NOT_SUPPORTED, Check, check_of
from kserve_conformance.checks.verdict import Result

FACTS_KEY = pytest.StashKey[dict[str, Any]]()
LOAD_KEY = pytest.StashKey[dict[str, Any]]()  # the load rate used, and why
IMPLEMENTATION_FIELDS = ("organization", "project", "url", "version", "contact")
# A check's measured figures (seconds), recorded with record_property under this prefix.
FIGURE_PREFIX = "kserve-conformance.figure."


@dataclass(eq=False)  # registered as a pytest plugin: pluggy keeps plugins in sets, so it must stay hashable
class ConformanceReport:
    config: pytest.Config
    results: dict[str, Result] = field(default_factory=dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = getattr(report, "conformance_check", None)
        if check is None:
            return
        result = self.results.setdefault(report.nodeid, _result(check, report.nodeid))
        result.figures.update(
            {
                k.removeprefix(FIGURE_PREFIX): float(str(v))  # recorded as text by evidence.figure()
                for k, v in report.user_properties
                if k.startswith(FIGURE_PREFIX)
            }
        )
        if report.failed:
            result.message = _first_line(report.longreprtext)
            result.outcome = "invalid" if result.message.startswith(INVALID) else "failed"
        elif report.skipped and hasattr(report, "wasxfail"):
            result.outcome, result.message = "known-deviation", report.wasxfail
        elif report.skipped and result.outcome == "passed":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            result.outcome = (
                "not-supported"
                if reason.startswith(NOT_SUPPORTED)
                else "not-applicable"
                if reason.startswith(NOT_APPLICABLE)
                else "invalid"
                if reason.startswith(INVALID)
                else "skipped"
            )
            result.message = reason

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        check = check_of(item)
        if check is not None:
            outcome.get_result().conformance_check = check

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.results:
            return
        path = Path(self.config.getoption("kserve_report_dir")) / "conformance-report.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.document(), sort_keys=False, width=120))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.results:
            path = Path(self.config.getoption("kserve_report_dir")) / "conformance-report.yaml"
            summary = self.document()["profiles"]
            terminalreporter.write_sep("-", "kserve conformance")
            for level, s in summary.items():
                terminalreporter.write_line(
                    f"{level}: {s['result']} ({s['checks']} checks: passed {s['passed']}, failed {s['failed']}, "
                    f"skipped {s['skipped']}, not supported {s['notSupported']}, "
                    f"not applicable {s['notApplicable']}, known deviations {s['knownDeviations']}, "
                    f"invalid measurements {s['invalid']})"
                )
            terminalreporter.write_line(f"report: {path}")

    def checks(self) -> list[dict[str, Any]]:
        return verdict.checks(self.results.values())

    def document(self) -> dict[str, Any]:
        checks = self.checks()
        profiles = verdict.profiles(checks)
        implementation = {f: self.config.getoption(f"kserve_implementation_{f}") for f in IMPLEMENTATION_FIELDS}
        return {
            "apiVersion": "conformance.kserve-conformance.io/v1alpha1",
            "kind": "ConformanceReport",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "suiteVersion": __version__,
            "implementation": implementation,
            "cluster": self.config.stash.get(FACTS_KEY, {}),
            "profiles": profiles,
            "checks": checks,
            **({"load": self.config.stash[LOAD_KEY]} if LOAD_KEY in self.config.stash else {}),
            "reproduce": " ".join(["pytest", *sys.argv[1:]]),
            **certification.report_fields(self.config),
        }


def _result(check: Check, nodeid: str) -> Result:
    """Plain strings: the report is YAML-dumped safely, which knows no enum (the values are the spellings)."""
    features = tuple(f.value for f in check.features)
    return Result(check.name, nodeid, check.level.value, features, rule=check.rule, spec=check.spec)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("E "):
            return line[2:].strip()
    return text.strip().splitlines()[-1] if text.strip() else ""
