"""The CNCF Kubernetes AI Conformance fragment a certification run writes into its bundle.

A vendor certifying a platform for AI conformance fills in a checklist (``AIConformance-1.36``:
per requirement a status, evidence and notes) and submits it to cncf/k8s-ai-conformance. Some
of its requirements are what this suite's checks show for a KServe install (an operator with a
CRD that reconciles, metrics a monitoring system collects, traffic split by weight, scaling on a
custom metric); most are about accelerators, which no check touches. So the run writes the
checklist with only what it showed: a status where every check mapped to the requirement passed
in a certification run (Partially Implemented where the table names a part of it whose checks
passed while the rest did not run: an opt-in check, say), the evidence naming those checks in the
bundle's report, and for every other requirement an empty status with the reason in the notes. The mapping is data
(``data/ai-conformance.yaml``); the verifier holds the bundle's fragment to the same table.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kserve_conformance import __version__
from kserve_conformance.certification import bundle

IMPLEMENTED, PARTIAL = "Implemented", "Partially Implemented"
CLAIMS = (PARTIAL, IMPLEMENTED)  # weakest first: a claim may not rise above what the checks can show
# How the embedded local target names itself in /version: no claim can rest on it.
STAND_IN_VERSION = "+kserve-conformance-local"
# How a check that did not pass leaves its requirement unshown, by the report's outcome.
WHY_NOT = {
    None: "did not run (it is not in the report)",
    "failed": "failed",
    "invalid": "made no valid measurement",
    "skipped": "was skipped",
    "known-deviation": "is a known deviation",
    "not-supported": "is not supported by this install",
    "not-applicable": "is not applicable on this target",
}
# Outcomes that leave a check's part of a requirement unshown without showing a defect: it did not
# run, or the target lacks what it needs. A partial claim may stand beside these, never beside a failure.
GAPS = (None, "not-applicable", "not-supported")
# An evidence item: the report's path in the bundle, then "#" and a check's name.
EVIDENCE = re.compile(r"^(?:\S*/)?" + re.escape(bundle.REPORT) + r"#([A-Za-z][A-Za-z0-9]*)\b")


@functools.cache
def checklist() -> dict[str, Any]:
    path = resources.files("kserve_conformance.certification") / "data" / "ai-conformance.yaml"
    table: dict[str, Any] = yaml.safe_load(path.read_text())
    return table


def fragment_name() -> str:
    return str(checklist()["fragment"])


def requirements() -> list[dict[str, Any]]:
    """Every requirement of the checklist, in its order, each with its ``section``."""
    return [{"section": s} | r for s, entries in checklist()["sections"].items() for r in entries]


def fragment(report: dict[str, Any]) -> dict[str, Any]:
    """The checklist filled in from a conformance report: what ``AIConformance-1.36`` asks, nothing more."""
    implementation = report.get("implementation") or {}
    metadata = {
        "kubernetesVersion": checklist()["kubernetesVersion"],
        "platformName": implementation.get("project", ""),
        "platformVersion": implementation.get("version", ""),
        "vendorName": implementation.get("organization", ""),
        "websiteUrl": implementation.get("url", ""),
        "repoUrl": "",
        "documentationUrl": "",
        "productLogoUrl": "",
        "description": "",
        "contactEmailAddress": implementation.get("contact", ""),
        "k8sConformanceUrl": "",
    }
    checks = {c["name"]: c for c in report.get("checks") or [] if isinstance(c, dict)}
    spec: dict[str, list[dict[str, Any]]] = {}
    for requirement in requirements():
        spec.setdefault(requirement["section"], []).append(entry(requirement, checks, report))
    return {"metadata": metadata, "spec": spec}


def entry(requirement: dict[str, Any], checks: dict[str, dict[str, Any]], report: dict[str, Any]) -> dict[str, Any]:
    """One requirement: its status only where its required checks earned it in a certification run."""
    required: dict[str, str] = requirement.get("required") or {}
    supporting: dict[str, str] = requirement.get("supporting") or {}
    evidence = [cite(checks[name]) for name in (*required, *supporting) if name in checks]
    status, notes = earned(requirement, checks, report)
    supported = [f"{name} {outcome_words(checks.get(name))}" for name in supporting]
    if supported:
        notes += f" Supporting, not needed for the status: {'; '.join(supported)}."
    return {
        "id": requirement["id"],
        "description": requirement["description"],
        "level": requirement["level"],
        "status": status,
        "evidence": evidence,
        "notes": notes,
    }


def stand_in(report: dict[str, Any]) -> str | None:
    """The Kubernetes version of the suite's own embedded target, where the run reached it (however
    addressed: ``--kserve-cluster=existing`` with its kubeconfig too); None for any other cluster."""
    version = str((report.get("cluster") or {}).get("kubernetes_version") or "")
    return version if STAND_IN_VERSION in version else None


def earned(requirement: dict[str, Any], checks: dict[str, dict[str, Any]], report: dict[str, Any]) -> tuple[str, str]:
    """The status this run earns towards the requirement (empty for none) and the notes saying why.

    Every required check passing earns the requirement's ``status``. Where the requirement names a
    ``partially`` tier, its checks passing earn Partially Implemented while the other required checks
    only left their part unshown (did not run, not applicable, not supported: a gap, e.g. an opt-in
    check not selected); one that failed shows a defect, and earns nothing."""
    required: dict[str, str] = requirement.get("required") or {}
    where = rehearsal_words(report)
    if not required:
        return "", f"Not shown: {requirement['why']}.{where}"
    short = [name for name in required if outcome(checks.get(name)) != "passed"]
    status, shows = requirement["status"], requirement["shows"]
    unshown = f" Not shown by any check of this suite: {requirement['unshown']}." if requirement.get("unshown") else ""
    if short:
        tier = partial_tier(requirement, short, checks)
        if tier is None:
            return "", f"Not shown by this run: {words(short, checks)}.{where}"
        status, shows = PARTIAL, tier["shows"]
        unshown = f" Not shown by this run: {tier['unshown']}: {words(short, checks)}."
    if where:
        passed = ", ".join(name for name in required if name not in short)
        return "", (
            f"Not claimed: {passed} passed, but{where} On a certification run of a real "
            f"cluster these passing would make it {status}."
        )
    return status, f"Shown by this run: {shows}.{unshown}"


def partial_tier(
    requirement: dict[str, Any], short: list[str], checks: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The requirement's ``partially`` tier where this run earns it: its checks all passed and every
    other required check short of a pass left a gap, not a defect; None otherwise."""
    tier: dict[str, Any] | None = requirement.get("partially")
    if not tier or set(tier["checks"]) & set(short):
        return None
    return tier if all(outcome(checks.get(name)) in GAPS for name in short) else None


def rehearsal_words(report: dict[str, Any]) -> str:
    """Why a rehearsal (or a run against the embedded target) shows nothing; empty for a certification run."""
    local = stand_in(report)
    if report.get("mode") == "certification" and local is None:
        return ""
    what = (
        f"a {report.get('mode')} ({report.get('rehearsal') or 'not a certification run'})"
        if report.get("mode") != "certification"
        else f"run against the suite's own embedded local target (Kubernetes {local})"
    )
    return (
        f" This run was {what}: its target has no accelerators and its data plane is not a real cluster's, "
        "so it shows nothing about a platform."
    )


def words(names: list[str], checks: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{name} {outcome_words(checks.get(name))}" for name in names)


def outcome(check: dict[str, Any] | None) -> str | None:
    return None if check is None else str(check.get("outcome", ""))


def outcome_words(check: dict[str, Any] | None) -> str:
    """``passed``, or how the check fell short, with its message."""
    got = outcome(check)
    if got == "passed" or check is None:
        return WHY_NOT[None] if check is None else "passed"
    message = str(check.get("message") or "").strip()
    return WHY_NOT.get(got, got or "has no outcome") + (f" ({message})" if message else "")


def cite(check: dict[str, Any]) -> str:
    """An evidence item: where the check is in the bundle, its outcome, its items and their figures."""
    items = check.get("items") or [check]
    passed = sum(1 for i in items if i.get("outcome") == "passed")
    text = f"{bundle.REPORT}#{check['name']}: {check.get('outcome')}, {passed} of {len(items)} items passed"
    others = Counter(str(i.get("outcome")) for i in items if i.get("outcome") != "passed")
    if others:  # e.g. a service whose runtime lacks the feature: say so rather than leave a gap
        text += f" ({', '.join(f'{n} {o}' for o, n in sorted(others.items()))})"
    figures = [
        f"[{label(str(i.get('test', '')))}] " + ", ".join(f"{k}={number(v)}" for k, v in i["figures"].items())
        for i in items
        if i.get("figures")
    ]
    return text + (f"; figures: {'; '.join(figures)}" if figures else "")


def number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def label(nodeid: str) -> str:
    """A test item's parameters (``sklearn-iris``), or its function where it has none."""
    name = nodeid.rpartition("::")[2]
    return name.partition("[")[2].rstrip("]") or name


def render(document: dict[str, Any], report: dict[str, Any]) -> str:
    """The fragment as YAML a vendor can paste, under a comment saying where it came from."""
    header = (
        f"# Kubernetes AI Conformance checklist ({checklist()['checklist']}) as far as kserve-conformance "
        f"{report.get('suiteVersion', __version__)}\n"
        f"# showed it in the run recorded in this bundle's {bundle.REPORT} (mode {report.get('mode')}, "
        f"{report.get('date', '')}).\n"
        "# A status is set only where the checks mapped to the requirement passed (Partially Implemented: a\n"
        "# part's checks, the rest not run or not applicable); the evidence names those\n"
        "# checks in the report. Fill in the empty metadata, publish the bundle where reviewers can reach it\n"
        "# (the evidence must be public), and show the requirements left empty with evidence of your own.\n"
    )
    # One line per value, as the published checklist has them: easy to paste and to compare.
    return header + yaml.safe_dump(document, sort_keys=False, width=1_000_000, allow_unicode=True)


def write(report_dir: Path) -> Path | None:
    """Write the fragment beside the report (so the bundle and its manifest take it in); None without a report."""
    path = report_dir / bundle.REPORT
    if not path.is_file():
        return None
    report = yaml.safe_load(path.read_text())
    out = report_dir / fragment_name()
    out.write_text(render(fragment(report), report), encoding="utf-8")
    return out
