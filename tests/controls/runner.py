"""Run the conformance suite in a subprocess and read back each check's verdict from JUnit XML.

The negative controls go through the real entry point (``python -m pytest conformance ...``),
so what they prove is what a user's run would do: the same options, fixtures and reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Verdict:
    outcome: str  # passed | failed | error | skipped
    message: str


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    verdicts: dict[str, Verdict]
    report_dir: Path

    def failed(self, test: str) -> Verdict:
        """The one verdict whose test id contains ``test``; it must be a failure or an error."""
        matches = {k: v for k, v in self.verdicts.items() if test in k}
        assert matches, f"no test matching {test!r} ran; ran: {sorted(self.verdicts)}\n{self.output[-3000:]}"
        bad = {k: v for k, v in matches.items() if v.outcome in ("failed", "error")}
        assert bad, f"{test} did not fail: {matches}"
        return next(iter(bad.values()))

    def outcome(self, test: str) -> str:
        return next(v.outcome for k, v in self.verdicts.items() if test in k)


def suite_env(**extra: str) -> dict[str, str]:
    """The environment as it is now (tests set variables with monkeypatch), plus ``extra``."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def suite_command(report_dir: Path, *args: str) -> list[str]:
    """The suite's command line; the load test and round-trip timings only where a control asks (-m)."""
    select = () if "-m" in args else ("-m", "not load and not round_trip")
    return [sys.executable, "-m", "pytest", str(REPO / "conformance"), "-p", "no:cacheprovider",
            f"--report-dir={report_dir}", "--rootdir", str(REPO), "-q", *select, *args]


def run_suite(tmp: Path, *args: str, timeout_s: float = 600, env: dict[str, str] | None = None) -> Run:
    report_dir = tmp / "reports"
    proc = subprocess.run(suite_command(report_dir, *args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, env=suite_env(**(env or {})))
    return Run(proc.returncode, proc.stdout + proc.stderr, read_junit(report_dir / "junit.xml"), report_dir)


def read_junit(path: Path) -> dict[str, Verdict]:
    if not path.exists():
        return {}
    verdicts: dict[str, Verdict] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (node.get("message") or "") + "\n" + (node.text or "")
                break
        # A test that failed in call and errored in teardown appears twice: keep the worst.
        if name not in verdicts or verdicts[name].outcome == "passed":
            verdicts[name] = Verdict(outcome, message)
    return verdicts
