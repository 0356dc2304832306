"""What the reviewer's verifier asks of a bundle's AI conformance fragment.

The fragment is what a vendor pastes into a CNCF submission, so it is where a claim would be
inflated: a status set on a requirement whose check failed, evidence naming a check that never
ran, a description reworded (the checklist's ids, levels and descriptions must be submitted
unchanged). Anyone can recompute the manifest after such an edit, so each claim is held against
the report and the JUnit XML the run wrote: every check the suite maps to a claimed requirement
must have passed in both (for a partial tier's claim: its checks, and no other showing a defect).
"""

from __future__ import annotations

from typing import Any

import yaml

from kserve_conformance.certification import ai_conformance, bundle
from kserve_conformance.certification.ai_conformance import CLAIMS, EVIDENCE, GAPS, PARTIAL

NOT_CLAIMS = ("", "Not Implemented", "N/A")  # statuses a vendor may set without a check behind them


def problems(files: dict[str, bytes], report: dict[str, Any], junit: dict[str, list[str]]) -> list[str]:
    """One line per problem with the fragment; ``junit`` holds each check's JUnit outcomes by name."""
    name = ai_conformance.fragment_name()
    if name not in files:
        return [f"{name}: missing from the bundle (every certification run writes it)"]
    try:
        document = yaml.safe_load(files[name])
    except yaml.YAMLError as err:
        return [f"{name}: not YAML ({' '.join(str(err).split())})"]  # one line, as every problem
    spec = document.get("spec") if isinstance(document, dict) else None
    if not isinstance(spec, dict):
        return [f"{name}: has no spec section (not an {ai_conformance.checklist()['checklist']} checklist)"]
    given = {
        e.get("id"): e for entries in spec.values() if isinstance(entries, list) for e in entries if isinstance(e, dict)
    }
    checks = {str(c.get("name")): c for c in report.get("checks") or [] if isinstance(c, dict)}
    found = []
    for requirement in ai_conformance.requirements():
        entry = given.pop(requirement["id"], None)
        if not isinstance(entry, dict):
            found.append(f"{name}: requirement {requirement['id']} is missing")
            continue
        found += [f"{name}: {p}" for p in entry_problems(requirement, entry, report, checks, junit)]
    found += [f"{name}: requirement {i} is not in {ai_conformance.checklist()['checklist']}" for i in given]
    return found


def entry_problems(
    requirement: dict[str, Any],
    entry: dict[str, Any],
    report: dict[str, Any],
    checks: dict[str, dict[str, Any]],
    junit: dict[str, list[str]],
) -> list[str]:
    rid = requirement["id"]
    found = [
        f"{rid}: its {key} differs from {ai_conformance.checklist()['checklist']} (it must be submitted unchanged)"
        for key in ("description", "level")
        if entry.get(key) != requirement[key]
    ]
    status = entry.get("status") or ""
    if status in CLAIMS:
        found += claim_problems(requirement, status, report, checks, junit)
    elif status not in NOT_CLAIMS:
        found.append(f"{rid}: status {status!r} is none of {', '.join(repr(s) for s in (*NOT_CLAIMS, *CLAIMS))}")
    evidence = entry.get("evidence") or []
    if not isinstance(evidence, list):
        return [*found, f"{rid}: evidence is not a list"]
    for item in evidence:
        match = EVIDENCE.match(str(item))
        if match is None:
            found.append(f"{rid}: evidence {str(item)[:80]!r} names no check in {bundle.REPORT}")
        elif match[1] not in checks or match[1] not in junit:
            found.append(
                f"{rid}: evidence names check {match[1]}, which is not in the bundle's {where(match[1], checks)}"
            )
    return found


def claim_problems(
    requirement: dict[str, Any],
    status: str,
    report: dict[str, Any],
    checks: dict[str, dict[str, Any]],
    junit: dict[str, list[str]],
) -> list[str]:
    """A claim needs a certification run and every required check passing in the report and in JUnit."""
    rid, required = requirement["id"], requirement.get("required") or {}
    if not required:
        return [f"{rid} claims {status}, but no check of this suite can show it ({requirement['why']})"]
    found = []
    if CLAIMS.index(status) > CLAIMS.index(requirement["status"]):
        found.append(
            f"{rid} claims {status}, but its checks show at most {requirement['status']} "
            f"(not shown: {requirement['unshown']})"
        )
    if report.get("mode") != "certification":
        found.append(f"{rid} claims {status} from a run whose mode is {report.get('mode')!r}, not 'certification'")
    elif ai_conformance.stand_in(report):
        found.append(
            f"{rid} claims {status} from a run against the suite's own embedded local target "
            f"(Kubernetes {ai_conformance.stand_in(report)}), which stands in for a platform"
        )
    basis = list(required)
    tier = requirement.get("partially") or {}
    if tier and status == PARTIAL and requirement["status"] != PARTIAL:
        basis = list(tier["checks"])  # the tier's checks carry the claim; the rest may only have left a gap
        for check in required:
            why = "" if check in basis else check_defect(check, checks, junit)
            if why:
                found.append(f"{rid} claims {status}, but its check {check} {why} (a defect, not a part left unshown)")
    for check in basis:
        why = check_shortfall(check, checks, junit)
        if why:
            found.append(f"{rid} claims {status}, but its check {check} {why}")
    return found


def check_defect(check: str, checks: dict[str, dict[str, Any]], junit: dict[str, list[str]]) -> str:
    """How a check beside a partial claim shows a defect (failed, made no valid measurement, ...) in
    either record; empty where it passed or only left a gap (``ai_conformance.GAPS``)."""
    got = checks[check].get("outcome") if check in checks else None
    if got != "passed" and got not in GAPS:
        return f"is {got} in {bundle.REPORT}"
    return f"failed in {bundle.JUNIT}" if "failed" in junit.get(check, []) else ""


def check_shortfall(check: str, checks: dict[str, dict[str, Any]], junit: dict[str, list[str]]) -> str:
    """How a required check falls short of a pass in the bundle; empty when it passed in both records."""
    if check not in checks:
        return f"is not in {bundle.REPORT}"
    if checks[check].get("outcome") != "passed":
        return f"is {checks[check].get('outcome')} in {bundle.REPORT}"
    outcomes = junit.get(check, [])
    if "failed" in outcomes:
        return f"failed in {bundle.JUNIT}"
    if "passed" not in outcomes:
        return f"has no passed test case in {bundle.JUNIT}"
    return ""


def where(check: str, checks: dict[str, dict[str, Any]]) -> str:
    return bundle.REPORT if check not in checks else bundle.JUNIT
