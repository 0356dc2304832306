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

from kserve_conformance.checks.spec import INVALID

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Verdict:
    outcome: str  # passed | failed | error | skipped | invalid (skipped as an invalid measurement)
    message: str
    check: str = ""  # the conformance check's short name, from the JUnit property the plugin writes
    params: str = ""  # the parametrization, e.g. "sklearn-iris-v2-unknown-model"


def selects(test_id: str, verdict: Verdict, check: str) -> bool:
    """``Name`` or ``Name[case]``: a check by its short name, optionally one parametrization.

    Items that are not conformance checks (the round-trip timings) are named by test function.
    """
    if check.startswith("test_"):
        return check in test_id
    name, _, case = check.partition("[")
    return verdict.check == name and case.rstrip("]") in verdict.params


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    verdicts: dict[str, Verdict]
    report_dir: Path

    def matching(self, check: str) -> dict[str, Verdict]:
        """Verdicts of a check named by its short name (``Infer``, ``ErrorResponse[unknown-model]``)."""
        matches = {k: v for k, v in self.verdicts.items() if selects(k, v, check)}
        assert matches, f"no check {check!r} ran; ran: {sorted(self.verdicts)}\n{self.output[-3000:]}"
        return matches

    def failed(self, check: str) -> Verdict:
        """The check's verdict; it must be a failure or an error."""
        matches = self.matching(check)
        bad = {k: v for k, v in matches.items() if v.outcome in ("failed", "error")}
        assert bad, f"{check} did not fail: {matches}"
        return next(iter(bad.values()))

    def invalid(self, check: str) -> Verdict:
        """The check's verdict; it must be an invalid measurement (neither pass nor fail)."""
        matches = self.matching(check)
        bad = {k: v for k, v in matches.items() if v.outcome == "invalid"}
        assert bad, f"{check} was not an invalid measurement: {matches}"
        return next(iter(bad.values()))

    def outcome(self, check: str) -> str:
        return next(iter(self.matching(check).values())).outcome


def suite_env(**extra: str) -> dict[str, str]:
    """The environment as it is now (tests set variables with monkeypatch), plus ``extra``.

    Without pytest-xdist's variables: the suite run is a user's run, not a worker of ours.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def as_a_user_would() -> None:
    """``preexec_fn`` for a suite run a test will interrupt: Ctrl-C and SIGTERM act as in a terminal.

    A pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored across exec, so a
    suite started from a worker would shrug off the Ctrl-C the test sends.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def suite_command(report_dir: Path, *args: str) -> list[str]:
    """The suite's command line; the load test, round-trip timings and the rollout/scaling checks
    (each deploys services of its own) only where a control asks (-m)."""
    select = () if "-m" in args else ("-m", "not load and not round_trip and not lifecycle")
    return [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "conformance"),
        "-p",
        "no:cacheprovider",
        f"--kserve-report-dir={report_dir}",
        "--rootdir",
        str(REPO),
        "-q",
        *select,
        *args,
    ]


def run_suite(tmp: Path, *args: str, timeout_s: float = 600, env: dict[str, str] | None = None) -> Run:
    report_dir = tmp / "reports"
    proc = subprocess.run(
        suite_command(report_dir, *args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=suite_env(**(env or {})),
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, read_junit(report_dir / "junit.xml"), report_dir)


def read_junit(path: Path) -> dict[str, Verdict]:
    if not path.exists():
        return {}
    verdicts: dict[str, Verdict] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        check = next((p.get("value", "") for p in case.iter("property") if p.get("name") == "check"), "")
        params = case.get("name", "").partition("[")[2].rstrip("]")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (node.get("message") or "") + "\n" + (node.text or "")
                if tag == "skipped" and message.startswith(INVALID):
                    outcome = "invalid"
                break
        # A test that failed in call and errored in teardown appears twice: keep the worst.
        if name not in verdicts or verdicts[name].outcome == "passed":
            verdicts[name] = Verdict(outcome, message, check, params)
    return verdicts
