"""Run KServe's own e2e tests, unmodified, against a target, and judge the outcome per test.

The tests are a peer's code: they are run from where they sit (``../shared/reference/kserve/e2e``,
read-only), by the pytest of the ``kserve-e2e`` side environment (``tests/envs.py``), with the
environment KServe's CI gives them: ``KUBECONFIG`` and ``KSERVE_INGRESS_HOST_PORT`` (the ingress
gateway's address, which their ``get_cluster_ip`` then uses instead of looking the Service up).
Nothing is written into the reference copy: no cache provider, no bytecode. Each upstream test is
bounded by pytest-timeout (their ``wait_isvc_ready`` waits up to 600 s), and the outcome of each is
read back from the JUnit report pytest writes.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPECTATIONS = Path(__file__).with_name("expectations.yaml")
GENERATIVE = Path(__file__).with_name("generative.yaml")
LLMISVC = Path(__file__).with_name("llmisvc.yaml")
# What KServe's CI creates before running them (kubectl create namespace kserve-ci-e2e-test).
TEST_NAMESPACE = "kserve-ci-e2e-test"
TEST_FILE = "predictor/test_sklearn.py"
# Each passing test takes ~15 s on a quiet machine and 25-45 s beside three other self-test
# processes (their readiness poll is every 10 s, then a 5 s wait on delete); a test still waiting
# after this will not pass (upstream's wait_isvc_ready waits 600 s).
PER_TEST_TIMEOUT_S = 90
# Variables of the outer pytest that would change how the inner one runs (xdist worker ids rename
# upstream's namespace; PYTEST_ADDOPTS would add our options to theirs; a PYTHONPATH naming this
# checkout makes their pytest import the suite's package, which the side venv cannot run).
OUTER_ONLY = (
    "PYTHONPATH",
    "PYTEST_ADDOPTS",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_CURRENT_TEST",
    "PYTEST_PLUGINS",
    "E2E_WORKER_COUNT",
    "KSERVE_TEST_NAMESPACE",
)


@dataclass(frozen=True)
class Outcome:
    name: str
    outcome: str  # passed, failed, error, skipped
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class Expectations:
    """What each upstream test of ``files`` must do on the target.

    ``fails_with`` pins an exception to the assertion it must fail at: a test whose only exception
    is its model-specific answer then proves that everything before that assertion passed.
    ``not_run`` tests are deselected, each with the reason (a model no stand-in replaces, so the
    test could only wait out its timeout); the table shows them, the run spends no time on them.
    """

    must_pass: tuple[str, ...]
    exceptions: Mapping[str, str]
    fails_with: Mapping[str, str] = field(default_factory=dict)
    not_run: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = (TEST_FILE,)
    env: Mapping[str, str] = field(default_factory=dict)  # what their CI exports besides KUBECONFIG

    @classmethod
    def load(cls, path: Path = EXPECTATIONS) -> Expectations:
        data = yaml.safe_load(path.read_text())
        exceptions: dict[str, str] = {}
        fails_with: dict[str, str] = {}
        for name, value in (data.get("exceptions") or {}).items():
            if isinstance(value, dict):
                exceptions[name], fails_with[name] = value.get("reason", ""), value.get("fails_with", "")
            else:
                exceptions[name] = value
        return cls(
            tuple(data.get("pass") or ()),
            exceptions,
            fails_with,
            dict(data.get("not_run") or {}),
            tuple(data.get("files") or (TEST_FILE,)),
            {k: str(v) for k, v in (data.get("env") or {}).items()},
        )

    @property
    def selected(self) -> tuple[str, ...]:
        return (*self.must_pass, *(n for n in self.exceptions if n not in self.must_pass))

    def select(self) -> str | None:
        """The ``-k`` expression of the tests to run, when some are not run."""
        return " or ".join(keyword(n) for n in self.selected) if self.not_run else None


def keyword(name: str) -> str:
    """The ``-k`` word of a test reported as ``name``.

    KServe's llmisvc conftest prefixes a parametrized test's id in the report with its ``cluster_*``
    markers (``test_x[cluster_cpu-cluster_single_node-ID]``), while ``-k`` matches the id pytest
    collected (``test_x[ID]``).
    """
    base, bracket, rest = name.partition("[")
    if not bracket:
        return name
    words = rest.split("-")
    while words and words[0].startswith("cluster_"):
        words.pop(0)
    return f"{base}[{'-'.join(words)}"


def run(
    python: Path,
    e2e_dir: Path,
    kubeconfig: Path,
    ingress: str,
    junit: Path,
    n_tests: int,
    select: str | None = None,
    timeout_s: int = PER_TEST_TIMEOUT_S,
    files: Sequence[str] = (TEST_FILE,),
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """pytest over upstream's tests in ``files`` (``select``: a ``-k`` expression); outcomes are in ``junit``."""
    env = {k: v for k, v in os.environ.items() if k not in OUTER_ONLY}
    env.update(KUBECONFIG=str(kubeconfig), KSERVE_INGRESS_HOST_PORT=ingress, PYTHONDONTWRITEBYTECODE="1")
    env.update(extra_env or {})
    # Four at a time, as KServe's CI spreads its e2e tests over workers: each mostly waits (upstream
    # polls readiness every 10 s), so the run takes about as long as its slowest test.
    cmd = [
        str(python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--timeout",
        str(timeout_s),
        "-n",
        str(min(4, n_tests)),
        "-o",
        "log_cli=false",
        "--junitxml",
        str(junit),
        *files,
        *(["-k", select] if select else []),
    ]
    # A bound for the whole run even if every test times out (and then cleans up).
    return subprocess.run(
        cmd, cwd=e2e_dir, env=env, capture_output=True, text=True, timeout=n_tests * (timeout_s + 30) + 120
    )


def outcomes(junit: Path) -> dict[str, Outcome]:
    """Per upstream test name: outcome, seconds (setup to teardown) and the failure message, on one line."""
    results: dict[str, Outcome] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                # gRPC errors put the useful part (status, details) on the lines after the first.
                message = " ".join((node.get("message") or node.text or "").split())[:400]
                break
        results[case.get("name", "")] = Outcome(case.get("name", ""), outcome, float(case.get("time", 0)), message)
    return results


def problems(results: Mapping[str, Outcome], expected: Expectations) -> list[str]:
    """Everything that contradicts ``expectations.yaml``, one line each; empty when the run agrees."""
    found: list[str] = []
    listed = set(expected.must_pass) | set(expected.exceptions)
    for name in sorted(set(expected.must_pass) & set(expected.exceptions)):
        found.append(f"{name} is listed both as must-pass and as an exception")
    for name in sorted(set(results) - listed):
        found.append(f"{name} ({results[name].outcome}) is not classified: add it to 'pass' or 'exceptions'")
    for name in sorted(listed - set(results)):
        found.append(f"{name} is listed but upstream has no such test (or it was not run)")
    for name, reason in expected.not_run.items():
        if not reason.strip():
            found.append(f"{name} is not run without a reason")
        if name in results:
            found.append(f"{name} is listed as not run, but it ran ({results[name].outcome})")
    for name in expected.must_pass:
        got = results.get(name)
        if got is not None and got.outcome != "passed":
            found.append(f"{name} must pass but {got.outcome} after {got.seconds:.1f}s: {got.message}")
    for name, reason in expected.exceptions.items():
        got = results.get(name)
        if not reason.strip():
            found.append(f"{name} is an exception without a reason")
        if got is not None and got.outcome == "passed":
            found.append(
                f"{name} passed although listed as an exception ({reason}): if the target now has "
                "that capability, move it to 'pass'; if it passed for a wrong reason, that is a defect"
            )
        words = expected.fails_with.get(name, "")
        where = got is not None and got.outcome == "failed" and words in got.message
        if words and got is not None and got.outcome != "passed" and not where:
            found.append(
                f"{name} must fail only at {words!r}, but it {got.outcome} after {got.seconds:.1f}s: {got.message}"
            )
    return found


def missing_upstream(e2e_dir: Path, expected: Expectations) -> list[str]:
    """Listed tests that the upstream files do not define (a not-run name cannot be checked by running)."""
    text = "\n".join((e2e_dir / f).read_text() for f in expected.files)
    return [
        f"{name} is listed but upstream has no such test"
        for name in sorted({*expected.selected, *expected.not_run})
        if f"def {name.partition('[')[0]}(" not in text
    ]


def table(results: Mapping[str, Outcome], expected: Expectations) -> str:
    """The printed table: upstream test, outcome, seconds, and the reason for each exception."""
    rows = ["| upstream test | outcome | seconds | capability the target lacks |", "| --- | --- | --- | --- |"]
    order: Sequence[str] = [*expected.selected, *expected.not_run]
    for name in [*order, *sorted(set(results) - set(order))]:
        got = results.get(name)
        outcome, seconds = (got.outcome, f"{got.seconds:.1f}") if got else ("not run", "")
        reason = " ".join((expected.exceptions.get(name) or expected.not_run.get(name, "")).split())
        rows.append(f"| `{name}` | {outcome} | {seconds} | {reason} |")
    return "\n".join(rows)
