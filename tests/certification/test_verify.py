"""A certification run's bundle is accepted; each tampered or narrowed copy is rejected, by name.

The bundle is the one certification run of ``tests/certification/conftest.py``: on the local
target, a rehearsal (the full suite at the published thresholds, at the load rate the target
holds). The verifier holds it to every rule a submission is held to with its ``rehearsal`` flag,
the way a vendor tries the reviewer's side before submitting. The negative controls change copies
of it the way a careless or dishonest submitter would, re-computing the manifest where a smart one
would, so that it is the cross-checks (JUnit against report, counts against checks, checks against
the suite, the AI conformance fragment's claims against both) that must catch them.

Serial (``pytest tests -m serial``), as the rehearsal: the run is the whole suite with its load
and its streaming checks, which three neighbouring self-test processes on two cores starve (CI
saw vLLM deliver whole streams at their end there, failing StreamIncremental and so the bundle).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance.certification import ai_conformance, bundle, verify
from tests.certification.conftest import IMPLEMENTATION

pytestmark = pytest.mark.serial

FRAGMENT = ai_conformance.fragment_name()
check = partial(verify.verify, rehearsal=True)  # every rule a submission is held to, but being one


def tampered(tmp_path: Path, original: Path, change: Callable[[dict[str, bytes]], None], rehash: bool = True) -> Path:
    files = bundle.read(original)
    change(files)
    if rehash:
        manifest = json.loads(files[bundle.MANIFEST])
        manifest["files"] = {name: bundle.sha256(data) for name, data in files.items() if name != bundle.MANIFEST}
        files[bundle.MANIFEST] = json.dumps(manifest).encode()
    out = tmp_path / original.name
    bundle.write_files(out, files)
    return out


def edit_report(files: dict[str, bytes], change: Callable[[dict[str, Any]], None]) -> None:
    report = yaml.safe_load(files[bundle.REPORT])
    change(report)
    files[bundle.REPORT] = yaml.safe_dump(report, sort_keys=False).encode()


def edit_junit(files: dict[str, bytes], change: Callable[[ET.Element], None]) -> None:
    root = ET.fromstring(files[bundle.JUNIT])
    change(root)
    files[bundle.JUNIT] = ET.tostring(root)


def cases(root: ET.Element, check: str) -> list[ET.Element]:
    return [
        c
        for c in root.iter("testcase")
        if any(p.get("name") == verify.CHECK and p.get("value") == check for p in c.iter("property"))
    ]


def edit_fragment(files: dict[str, bytes], change: Callable[[dict[str, Any]], None]) -> None:
    document = yaml.safe_load(files[FRAGMENT])
    change(document)
    files[FRAGMENT] = yaml.safe_dump(document, sort_keys=False).encode()


def requirement(document: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e for entries in document["spec"].values() for e in entries if e["id"] == rid)


def claim_despite_failed_check(
    files: dict[str, bytes], rid: str = "robust_controller", check: str = "ReadyConditions"
) -> None:
    """The run failed ``check`` (report and JUnit agree, counts recomputed); the fragment claims ``rid`` anyway."""

    def fail_cases(root: ET.Element) -> None:
        for case in cases(root, check):
            case.append(ET.Element("failure", message="boom"))

    edit_junit(files, fail_cases)

    def fail(report: dict[str, Any]) -> None:
        for entry in report["checks"]:
            if entry["name"] == check:
                entry["outcome"], entry["message"] = "failed", "boom"
                for item in entry["items"]:
                    item["outcome"], item["message"] = "failed", "boom"
        report["profiles"] = verify.recount(report["checks"])

    edit_report(files, fail)
    edit_fragment(files, lambda d: requirement(d, rid).update(status="Implemented"))


def cite_missing_check(files: dict[str, bytes], rid: str = "ai_service_metrics") -> None:
    """Evidence for a check the run never had, in the format the run writes."""
    item = f"{bundle.REPORT}#MetricsEverything: passed, 3 of 3 items passed"
    edit_fragment(files, lambda d: requirement(d, rid)["evidence"].append(item))


def drop_fragment(files: dict[str, bytes]) -> None:
    files.pop(FRAGMENT)


def core_check(files: dict[str, bytes]) -> dict[str, Any]:
    report = yaml.safe_load(files[bundle.REPORT])
    return next(c for c in report["checks"] if c["level"] == "core" and c["outcome"] == "passed")


def test_certification_bundle_is_accepted(certified: Path) -> None:
    assert check(certified) == []
    assert any("a rehearsal, not a submission" in p for p in verify.verify(certified)), "without the flag"
    files = bundle.read(certified)
    for name in (bundle.REPORT, bundle.JUNIT, bundle.LOG, bundle.MANIFEST):
        assert name in files, sorted(files)
    assert any(name.startswith("allure-results/") for name in files), sorted(files)
    assert any(name.startswith("load/") for name in files), sorted(files)
    report = yaml.safe_load(files[bundle.REPORT])
    assert report["mode"] == "rehearsal"
    assert "--kserve-certification" in report["command"]
    assert report["environment"]["suite"] == report["suiteVersion"]
    assert report["environment"]["plugins"]
    assert "core:" in files[bundle.LOG].decode(), "the terminal log ends with the summary"
    fragment = yaml.safe_load(files[FRAGMENT])
    assert fragment["metadata"]["platformName"] == IMPLEMENTATION["project"], fragment["metadata"]
    claimed = {e["id"]: e for entries in fragment["spec"].values() for e in entries if e["status"]}
    assert claimed == {}, claimed  # the stand-in target shows nothing about a platform
    cited = {e["id"] for entries in fragment["spec"].values() for e in entries if e["evidence"]}
    assert {"robust_controller", "ai_service_metrics", "pod_autoscaling"} <= cited, cited


def test_ai_conformance_claim_whose_check_failed_is_rejected(certified: Path, tmp_path: Path) -> None:
    problems = check(tampered(tmp_path, certified, claim_despite_failed_check))
    assert (
        f"{FRAGMENT}: robust_controller claims Implemented, but its check ReadyConditions is failed in {bundle.REPORT}"
        in problems
    ), problems


def test_ai_conformance_evidence_naming_a_missing_check_is_rejected(certified: Path, tmp_path: Path) -> None:
    problems = check(tampered(tmp_path, certified, cite_missing_check))
    assert (
        f"{FRAGMENT}: ai_service_metrics: evidence names check MetricsEverything, which is not in the bundle's "
        f"{bundle.REPORT}" in problems
    ), problems


def test_ai_conformance_fragment_deleted_is_rejected(certified: Path, tmp_path: Path) -> None:
    problems = check(tampered(tmp_path, certified, drop_fragment))
    assert problems == [f"{FRAGMENT}: missing from the bundle (every certification run writes it)"], problems


def test_edited_report_is_rejected(certified: Path, tmp_path: Path) -> None:
    path = tampered(
        tmp_path,
        certified,
        lambda f: edit_report(f, lambda r: r["implementation"].update(version="9.9.9")),
        rehash=False,
    )
    assert f"{bundle.REPORT}: SHA-256 does not match the manifest (edited after the run)" in check(path)


def test_deleted_file_is_rejected(certified: Path, tmp_path: Path) -> None:
    path = tampered(tmp_path, certified, lambda f: f.pop(bundle.LOG), rehash=False)
    assert f"{bundle.LOG}: listed in the manifest but missing from the bundle (deleted)" in check(path)


def test_failed_check_removed_from_the_report_is_rejected(certified: Path, tmp_path: Path) -> None:
    """The run failed a check (JUnit says so); the report was rewritten without it and recounted."""
    victim = core_check(bundle.read(certified))["name"]

    def change(files: dict[str, bytes]) -> None:
        edit_junit(files, lambda root: [c.append(ET.Element("failure", message="boom")) for c in cases(root, victim)])

        def drop(report: dict[str, Any]) -> None:
            report["checks"] = [c for c in report["checks"] if c["name"] != victim]
            report["profiles"] = verify.recount(report["checks"])

        edit_report(files, drop)

    problems = check(tampered(tmp_path, certified, change))
    assert any(
        f"check {victim} " in p and "failed in junit.xml but is missing from the report" in p for p in problems
    ), problems


def test_altered_counts_are_rejected(certified: Path, tmp_path: Path) -> None:
    path = tampered(
        tmp_path,
        certified,
        lambda f: edit_report(f, lambda r: r["profiles"]["core"].update(passed=r["profiles"]["core"]["passed"] + 1)),
    )
    assert any("profiles.core.passed" in p and "(altered counts)" in p for p in check(path))


def test_non_certification_run_is_rejected(certified: Path, tmp_path: Path) -> None:
    path = tampered(tmp_path, certified, lambda f: edit_report(f, lambda r: r.update(mode="default")))
    assert f"{bundle.REPORT}: mode is 'default', not 'certification' (not a certification run)" in check(path)


def test_narrowed_selection_is_rejected(certified: Path, tmp_path: Path) -> None:
    """As a normal run with -k would leave it: one check never ran, and the report says how."""
    victim = core_check(bundle.read(certified))["name"]

    def change(files: dict[str, bytes]) -> None:
        def narrow(report: dict[str, Any]) -> None:
            report["checks"] = [c for c in report["checks"] if c["name"] != victim]
            report["profiles"] = verify.recount(report["checks"])
            report["selection"]["narrowedBy"] = [f"-k not {victim}"]

        edit_report(files, narrow)

        def drop(root: ET.Element) -> None:
            for suite in root.iter("testsuite"):
                for case in cases(suite, victim):
                    suite.remove(case)

        edit_junit(files, drop)

    problems = check(tampered(tmp_path, certified, change))
    assert f"{bundle.REPORT}: narrowed selection: -k not {victim}" in problems, problems
    assert f"{bundle.REPORT}: narrowed selection: check {victim} did not run" in problems, problems


def test_unreleased_suite_version_is_rejected(certified: Path, tmp_path: Path) -> None:
    path = tampered(tmp_path, certified, lambda f: edit_report(f, lambda r: r.update(suiteVersion="0.1.1.dev3")))
    assert any("suiteVersion '0.1.1.dev3' is not a released" in p for p in check(path))


def test_verifier_command_exits_1_with_one_line_per_problem(certified: Path, tmp_path: Path) -> None:
    path = tampered(tmp_path, certified, lambda f: f.pop(bundle.LOG), rehash=False)
    done = subprocess.run(
        [sys.executable, "-m", "kserve_conformance.cli", "verify", "--rehearsal", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout.strip().splitlines() == [
        f"{path}: {bundle.LOG}: listed in the manifest but missing from the bundle (deleted)"
    ], done.stdout
    ok = subprocess.run(
        [sys.executable, "-m", "kserve_conformance.cli", "verify", "--rehearsal", str(certified)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and ok.stdout.strip() == f"{certified}: OK", ok.stdout + ok.stderr
