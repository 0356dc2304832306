"""What a reviewer runs on a submission: ``kserve-conformance verify BUNDLE``.

Like the bot that checks a k8s-conformance pull request, it trusts nothing the vendor could
have typed: the manifest's hashes catch an edited or missing file; the report is validated
against the published JSON Schema; and because anyone can recompute a manifest, the report is
cross-checked against the JUnit XML pytest wrote during the run (every check's outcome), its
counts are recomputed from its own checks by the report's code, and its check list is compared
with the checks this suite version defines. The mode must be ``certification``, core must
have succeeded (or fallen short only by the checks of an optional KServe component the
distribution does not ship: ``components``), and the suite version must be a released one. The
AI conformance fragment may claim a requirement only where its checks passed (``ai_claims``).
Each problem is one line.
"""

from __future__ import annotations

import importlib
import json
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from packaging.version import InvalidVersion, Version

from kserve_conformance import __version__
from kserve_conformance.certification import ai_claims, bundle, components
from kserve_conformance.certification.rules import CERTIFICATION, PACKAGE, REHEARSAL, rules
from kserve_conformance.checks import verdict

NODEID, CHECK, LEVEL = "kserve-conformance.nodeid", "kserve-conformance.check", "kserve-conformance.level"
# How a report outcome shows in JUnit XML. An invalid measurement is a skip; bundles written before
# it became one (suite 0.1.0) show it as a failure, which is accepted too.
JUNIT_OUTCOME = {
    "passed": ("passed",),
    "failed": ("failed",),
    "invalid": ("skipped", "failed"),
    "skipped": ("skipped",),
    "not-supported": ("skipped",),
    "not-applicable": ("skipped",),
    "known-deviation": ("skipped",),
}


@cache
def schema() -> dict[str, Any]:
    path = resources.files("kserve_conformance.reporting") / "data" / "conformance-report.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def verify(path: Path, rehearsal: bool = False) -> list[str]:
    """Every problem with the bundle at ``path``, one line each; empty when it is acceptable.

    ``rehearsal``: hold a rehearsal's bundle to every rule a submission's is held to, except that
    it is a rehearsal, so that a vendor can try the reviewer's side of the workflow too (a rehearsal
    is still never a submission: without the flag it is rejected as one)."""
    try:
        files = bundle.read(path)
    except (OSError, EOFError, tarfile.TarError) as err:
        return [f"not a readable .tar.gz bundle ({type(err).__name__}: {err})"]
    problems = manifest_problems(files)
    if bundle.REPORT not in files:
        return [*problems, f"{bundle.REPORT}: missing from the bundle"]
    try:
        report = yaml.safe_load(files[bundle.REPORT])
    except yaml.YAMLError as err:
        return [*problems, f"{bundle.REPORT}: not YAML ({err})"]
    problems += schema_problems(report)
    if not isinstance(report, dict):
        return problems
    problems += run_problems(report, rehearsal)
    if bundle.JUNIT in files:
        problems += junit_problems(report, files[bundle.JUNIT])
    else:
        problems.append(f"{bundle.JUNIT}: missing from the bundle")
    problems += count_problems(report)
    problems += coverage_problems(report)
    problems += ai_claims.problems(files, report, junit_by_check(files.get(bundle.JUNIT)))
    return problems


def manifest_problems(files: dict[str, bytes]) -> list[str]:
    if bundle.MANIFEST not in files:
        return [f"{bundle.MANIFEST}: missing from the bundle"]
    try:
        listed: dict[str, str] = json.loads(files[bundle.MANIFEST])["files"]
    except (ValueError, KeyError, TypeError) as err:
        return [f"{bundle.MANIFEST}: unreadable ({err})"]
    problems = []
    for name, digest in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in the manifest but missing from the bundle (deleted)")
        elif bundle.sha256(files[name]) != digest:
            problems.append(f"{name}: SHA-256 does not match the manifest (edited after the run)")
    for name in sorted(set(files) - set(listed) - {bundle.MANIFEST}):
        problems.append(f"{name}: in the bundle but not in the manifest (added after the run)")
    return problems


def schema_problems(report: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    return [
        f"{bundle.REPORT}: {error.json_path}: {error.message} (does not match the published schema)"
        for error in sorted(validator.iter_errors(report), key=lambda e: e.json_path)
    ]


def run_problems(report: dict[str, Any], rehearsal: bool = False) -> list[str]:
    problems = []
    if report.get("mode") == REHEARSAL and rehearsal:
        pass  # held to everything below, as asked
    elif report.get("mode") == REHEARSAL:
        problems.append(
            f"{bundle.REPORT}: a rehearsal, not a submission: {report.get('rehearsal', 'run on a stand-in target')}"
        )
    elif report.get("mode") != CERTIFICATION:
        problems.append(
            f"{bundle.REPORT}: mode is {report.get('mode')!r}, not 'certification' (not a certification run)"
        )
    selection = report.get("selection") or {}
    narrowed = selection.get("narrowedBy") or []
    if narrowed:
        problems.append(f"{bundle.REPORT}: narrowed selection: {'; '.join(narrowed)}")
    if selection.get("deselected"):
        problems.append(f"{bundle.REPORT}: narrowed selection: {selection['deselected']} checks deselected")
    version = str(report.get("suiteVersion", ""))
    if not released(version):
        problems.append(
            f"{bundle.REPORT}: suiteVersion {version!r} is not a released kserve-conformance version "
            f"(released: {', '.join(rules()['released'])})"
        )
    core = (report.get("profiles") or {}).get("core") or {}
    checks = [c for c in report.get("checks") or [] if isinstance(c, dict)]
    short = components.core_shortfall(checks)
    if core.get("result") != "success" and (core.get("result") != "partial" or short):
        failed = ", ".join(core.get("failedTests") or [])
        why = f"failed: {failed}" if failed else f"short of a pass: {', '.join(short)}" if short else "see the report"
        problems.append(f"{bundle.REPORT}: core result is {core.get('result')!r}, not 'success' ({why})")
    return problems


def released(version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return not (parsed.is_devrelease or parsed.local) and version in rules()["released"]


def junit_outcomes(xml: bytes) -> dict[str, tuple[str, str, str]]:
    """nodeid → (JUnit outcome, check name, level) for every conformance check's test case."""
    out: dict[str, tuple[str, str, str]] = {}
    for case in ET.fromstring(xml).iter("testcase"):
        props = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
        if NODEID not in props:
            continue
        outcome = "passed"
        for tag, name in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
            if case.find(tag) is not None:
                outcome = name
                break
        previous = out.get(props[NODEID])
        if previous is None or previous[0] == "passed":
            out[props[NODEID]] = (outcome, props.get(CHECK, ""), props.get(LEVEL, ""))
    return out


def junit_by_check(xml: bytes | None) -> dict[str, list[str]]:
    """Check name → the JUnit outcomes of its test cases (none where the file is missing or not XML)."""
    try:
        outcomes = junit_outcomes(xml) if xml is not None else {}
    except ET.ParseError:
        return {}  # junit_problems names it
    by_check: dict[str, list[str]] = {}
    for outcome, name, _ in outcomes.values():
        by_check.setdefault(name, []).append(outcome)
    return by_check


def junit_problems(report: dict[str, Any], xml: bytes) -> list[str]:
    try:
        junit = junit_outcomes(xml)
    except ET.ParseError as err:
        return [f"{bundle.JUNIT}: not XML ({err})"]
    checks = {row["test"]: row for row in items(report)}
    if checks and not junit:
        return [
            f"{bundle.JUNIT}: no test case carries a check's identity ({NODEID} property): "
            "not written by the run that made this report"
        ]
    problems = []
    for nodeid, (outcome, name, _) in sorted(junit.items()):
        check = checks.get(nodeid)
        if check is None:
            problems.append(
                f"{bundle.REPORT}: check {name} ({nodeid}) {outcome} in {bundle.JUNIT} but is missing from the report"
            )
        elif outcome not in JUNIT_OUTCOME.get(check.get("outcome", ""), ()):
            problems.append(
                f"{bundle.REPORT}: check {name} ({nodeid}) is {check.get('outcome')} in the report "
                f"but {outcome} in {bundle.JUNIT}"
            )
    for nodeid in sorted(set(checks) - set(junit)):
        problems.append(f"{bundle.REPORT}: check {checks[nodeid].get('name')} ({nodeid}) is not in {bundle.JUNIT}")
    return problems


def count_problems(report: dict[str, Any]) -> list[str]:
    """The profiles' results and counts, recomputed from the report's checks by the report's own code."""
    try:
        expected = recount(report.get("checks") or [])
    except Exception as err:
        return [f"{bundle.REPORT}: cannot recompute the counts from its checks ({type(err).__name__}: {err})"]
    problems = []
    given = report.get("profiles") or {}
    for level in sorted(set(expected) | set(given)):
        want, have = expected.get(level, {}), given.get(level, {})
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                problems.append(
                    f"{bundle.REPORT}: profiles.{level}.{key} is {have.get(key)!r} but its checks give "
                    f"{want.get(key)!r} (altered counts)"
                )
    return problems


def items(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per pytest item: a check's ``items`` (one check, several services or inputs) flattened."""
    rows = []
    for check in report.get("checks") or []:
        if not isinstance(check, dict):
            continue
        common = {k: check.get(k) for k in ("name", "level")} | {"features": tuple(check.get("features") or ())}
        for item in check.get("items") or [check]:  # a report without items has one row per check
            rows.append(common | {k: item.get(k, "") for k in ("test", "outcome", "message")})
    return rows


def recount(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``profiles`` section the report's own rule makes of these checks."""
    results = [verdict.Result(**row) for row in items({"checks": checks})]
    return verdict.profiles(verdict.checks(results))


def defined_checks() -> set[str]:
    """The check names this suite version defines, read from the checks' markers."""
    names: set[str] = set()
    for entry in resources.files(PACKAGE).iterdir():
        if entry.name.startswith("test_") and entry.name.endswith(".py"):
            module = importlib.import_module(f"{PACKAGE}.{entry.name.removesuffix('.py')}")
            for obj in vars(module).values():
                names.update(mark.args[0].name for mark in _marks(obj) if mark.name == "conformance")
    return names


def _marks(obj: Any) -> Iterable[Any]:
    marks = getattr(obj, "pytestmark", [])
    return marks if isinstance(marks, list) else [marks]


def coverage_problems(report: dict[str, Any]) -> list[str]:
    version = str(report.get("suiteVersion", ""))
    if version != __version__:
        return [
            f"{bundle.REPORT}: made by suite {version}; verify it with kserve-conformance {version} "
            f"(this is {__version__})"
        ]
    present = {c.get("name") for c in report.get("checks") or [] if isinstance(c, dict)}
    missing = sorted(defined_checks() - present)
    return [f"{bundle.REPORT}: narrowed selection: check {name} did not run" for name in missing]


def main(paths: list[str], rehearsal: bool = False) -> int:
    status = 0
    for path in paths:
        problems = verify(Path(path), rehearsal)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            status = 1
        else:
            print(f"{path}: OK")
    return status
