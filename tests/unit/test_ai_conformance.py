"""The AI conformance fragment: built from a report dict (no suite run), and held to its checks by the verifier.

The fragment claims a CNCF AI Conformance requirement only where every check mapped to it
passed in a certification run, says why everywhere else, and keeps the checklist's ids, levels
and descriptions as CNCF published them. The verifier's tamper controls are the ones
``tests/certification/test_verify.py`` runs on a real certification bundle; here they run on a
bundle built in memory, so they are known to work before that whole-suite run.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kserve_conformance import __version__
from kserve_conformance.certification import ai_conformance, bundle, verify
from kserve_conformance.checks import verdict
from tests.certification.test_verify import (
    FRAGMENT,
    cite_missing_check,
    claim_despite_failed_check,
    drop_fragment,
    edit_fragment,
    requirement,
    tampered,
)

CHECKLIST = "cncf-ai-conformance/AIConformance-1.36.yaml"
EXAMPLE = "cncf-ai-conformance/example-PRODUCT.yaml"
MAPPED = {
    name
    for r in ai_conformance.requirements()
    for name in (
        *(r.get("required") or {}),
        *(r.get("supporting") or {}),
        *(r.get("partially") or {}).get("checks", ()),
    )
}


def report_of(outcomes: dict[str, str | None], mode: str = "certification") -> dict[str, Any]:
    """A report with one item per check (``sklearn-iris``), each with a figure; every mapped check
    passes unless ``outcomes`` says otherwise, and a check set to ``None`` is left out."""
    results = [
        verdict.Result(
            name,
            f"conformance/test_x.py::test_{name.lower()}[sklearn-iris]",
            "core" if name == "ReadyConditions" else "extended",
            (),
            outcome,
            "" if outcome == "passed" else f"{outcome}: what went wrong",
            {"seconds": 1.5},
        )
        for name in sorted(MAPPED | set(outcomes))
        if (outcome := outcomes.get(name, "passed")) is not None
    ]
    checks = verdict.checks(results)
    return {
        "suiteVersion": __version__,
        "date": "2026-12-06T00:00:00+00:00",
        "implementation": {
            "organization": "Example",
            "project": "serving",
            "version": "1.4.0",
            "url": "",
            "contact": "",
        },
        "checks": checks,
        "profiles": verdict.profiles(checks),
        "mode": mode,
        **({"rehearsal": "the embedded local target stands in for KServe"} if mode == "rehearsal" else {}),
    }


def junit_of(report: dict[str, Any]) -> bytes:
    """The JUnit XML pytest would write for the report's items, with the properties the verifier reads."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite")
    for check in report["checks"]:
        for item in check["items"]:
            case = ET.SubElement(suite, "testcase", name=item["test"])
            props = ET.SubElement(case, "properties")
            for key, value in ((verify.NODEID, item["test"]), (verify.CHECK, check["name"]), (verify.LEVEL, "core")):
                ET.SubElement(props, "property", name=key, value=value)
            tag = {"passed": None, "failed": "failure"}.get(item["outcome"], "skipped")
            if tag:
                ET.SubElement(case, tag, message=item["message"])
    return ET.tostring(root)


def bundle_of(tmp_path: Path, report: dict[str, Any]) -> Path:
    """A bundle as a certification run writes it: report, JUnit, the fragment and the manifest."""
    files = {
        bundle.REPORT: yaml.safe_dump(report, sort_keys=False).encode(),
        bundle.JUNIT: junit_of(report),
        FRAGMENT: ai_conformance.render(ai_conformance.fragment(report), report).encode(),
    }
    manifest = {"files": {name: bundle.sha256(data) for name, data in files.items()}}
    files[bundle.MANIFEST] = json.dumps(manifest).encode()
    path = tmp_path / "made" / "kserve-conformance-serving-1.4.0.tar.gz"
    path.parent.mkdir(parents=True)
    bundle.write_files(path, files)
    return path


def fresh(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


def entries(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(ai_conformance.render(ai_conformance.fragment(report), report))
    return {e["id"]: e for section in document["spec"].values() for e in section}


def fragment_problems(path: Path) -> list[str]:
    return [p for p in verify.verify(path) if p.startswith(f"{FRAGMENT}:")]


def test_the_checklist_is_cncfs_unchanged(reference: Path) -> None:
    """A submission must keep id, description and level as published, in the published sections."""
    published = yaml.safe_load((reference / CHECKLIST).read_text())["spec"]
    ours = ai_conformance.checklist()["sections"]
    assert list(ours) == list(published)
    for section, items in published.items():
        assert [(r["id"], r["level"], r["description"]) for r in items] == [
            (r["id"], r["level"], r["description"]) for r in ours[section]
        ], section


def test_the_fragment_has_a_submissions_shape(reference: Path) -> None:
    """Same metadata keys as a real submission, same keys per requirement as the checklist."""
    example = yaml.safe_load((reference / EXAMPLE).read_text())
    template = yaml.safe_load((reference / CHECKLIST).read_text())
    report = report_of({})
    document = yaml.safe_load(ai_conformance.render(ai_conformance.fragment(report), report))
    assert list(document) == ["metadata", "spec"]
    assert list(document["metadata"]) == list(example["metadata"])
    assert document["metadata"]["platformName"] == "serving" and document["metadata"]["vendorName"] == "Example"
    assert document["metadata"]["kubernetesVersion"] == template["metadata"]["kubernetesVersion"]
    for section, items in template["spec"].items():
        assert [list(e) for e in document["spec"][section]] == [list(e) for e in items], section


def test_every_required_check_passing_sets_the_most_its_checks_can_show() -> None:
    got = entries(report_of({}))
    assert got["robust_controller"]["status"] == "Implemented"
    assert got["ai_service_metrics"]["status"] == "Implemented"
    assert got["ai_inference"]["status"] == "Implemented"  # header routing and weighted split, both by HTTPRoute
    assert "Supporting, not needed for the status: CanaryTrafficSplit passed" in got["ai_inference"]["notes"]
    assert got["advanced_inference_ingress"]["status"] == "Implemented"
    assert got["pod_autoscaling"]["status"] == "Partially Implemented"
    assert "accelerators" in got["pod_autoscaling"]["notes"]


@pytest.mark.parametrize(
    "rid", ["gang_scheduling", "accelerator_metrics", "secure_accelerator_access", "driver_runtime_management"]
)
def test_a_requirement_no_check_can_show_stays_empty_with_the_reason(rid: str) -> None:
    entry = entries(report_of({}))[rid]
    assert (entry["status"], entry["evidence"]) == ("", [])
    assert entry["notes"].startswith("Not shown: ") and "no check of this suite" in entry["notes"], entry["notes"]


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("failed", "ValidatingWebhook failed (failed: what went wrong)"),
        ("not-applicable", "ValidatingWebhook is not applicable on this target (not-applicable: what went wrong)"),
        ("not-supported", "ValidatingWebhook is not supported by this install"),
        ("invalid", "ValidatingWebhook made no valid measurement"),
        (None, "ValidatingWebhook did not run (it is not in the report)"),
    ],
)
def test_a_required_check_short_of_a_pass_leaves_the_status_empty(outcome: str | None, words: str) -> None:
    entry = entries(report_of({"ValidatingWebhook": outcome}))["robust_controller"]
    assert entry["status"] == ""
    assert entry["notes"].startswith("Not shown by this run: ") and words in entry["notes"], entry["notes"]


def test_a_supporting_check_is_evidence_but_not_needed() -> None:
    entry = entries(report_of({"AutoscaleUp": "failed"}))["pod_autoscaling"]
    assert entry["status"] == "Partially Implemented"
    assert "Supporting, not needed for the status: AutoscaleUp failed" in entry["notes"], entry["notes"]
    assert f"{bundle.REPORT}#AutoscaleUp: failed, 0 of 1 items passed (1 failed)" in entry["evidence"][1], entry[
        "evidence"
    ]


def test_evidence_names_each_check_in_the_report_with_its_items_and_figures() -> None:
    entry = entries(report_of({}))["pod_autoscaling"]
    assert entry["evidence"] == [
        f"{bundle.REPORT}#{name}: passed, 1 of 1 items passed; figures: [sklearn-iris] seconds=1.5"
        for name in ("CustomMetricAutoscale", "AutoscaleUp", "AutoscaleDown")
    ]


def test_a_rehearsal_claims_nothing_and_says_why() -> None:
    """The local target passing every check shows nothing about a platform's accelerators or data plane."""
    for rid, entry in entries(report_of({}, mode="rehearsal")).items():
        assert entry["status"] == "", rid
        assert "This run was a rehearsal (the embedded local target stands in for KServe)" in entry["notes"], rid
        assert "no accelerators" in entry["notes"], rid
    assert (
        "On a certification run of a real cluster these passing would make it Implemented."
        in (entries(report_of({}, mode="rehearsal"))["robust_controller"]["notes"])
    )


def test_the_fragment_is_written_beside_the_report(tmp_path: Path) -> None:
    assert ai_conformance.write(tmp_path) is None, "no report, no fragment"
    report = report_of({})
    (tmp_path / bundle.REPORT).write_text(yaml.safe_dump(report, sort_keys=False))
    path = ai_conformance.write(tmp_path)
    assert path == tmp_path / "ai-conformance-1.36.yaml"
    text = path.read_text()
    assert text.startswith("# Kubernetes AI Conformance checklist (AIConformance-1.36)")
    assert yaml.safe_load(text) == ai_conformance.fragment(report)


def test_an_untouched_fragment_is_accepted(tmp_path: Path) -> None:
    assert fragment_problems(bundle_of(tmp_path, report_of({}))) == []
    assert fragment_problems(bundle_of(tmp_path / "r", report_of({"MetricsCounts": "failed"}))) == []


def test_the_verify_tamper_controls_are_caught(tmp_path: Path) -> None:
    """The cases test_verify.py runs on the real certification bundle, on one made here."""
    made = bundle_of(tmp_path, report_of({}))
    assert (
        f"{FRAGMENT}: robust_controller claims Implemented, but its check ReadyConditions is failed in {bundle.REPORT}"
        in fragment_problems(tampered(fresh(tmp_path, "failed"), made, claim_despite_failed_check))
    )
    assert fragment_problems(tampered(fresh(tmp_path, "cited"), made, cite_missing_check)) == [
        f"{FRAGMENT}: ai_service_metrics: evidence names check MetricsEverything, which is not in the bundle's "
        f"{bundle.REPORT}"
    ]
    assert verify.verify(tampered(fresh(tmp_path, "dropped"), made, drop_fragment))[-1] == (
        f"{FRAGMENT}: missing from the bundle (every certification run writes it)"
    )


def claim(rid: str, status: str) -> Callable[[dict[str, bytes]], None]:
    return lambda files: edit_fragment(files, lambda d: requirement(d, rid).update(status=status))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (claim("gang_scheduling", "Implemented"), "gang_scheduling claims Implemented, but no check of this suite"),
        (
            claim("pod_autoscaling", "Implemented"),
            "pod_autoscaling claims Implemented, but its checks show at most Partially Implemented (not shown: pods",
        ),
        (claim("ai_inference", "Done"), "ai_inference: status 'Done' is none of"),
        (
            lambda f: edit_fragment(f, lambda d: requirement(d, "gpu_sharing").update(level="MAY")),
            "gpu_sharing: its level differs from AIConformance-1.36 (it must be submitted unchanged)",
        ),
        (
            lambda f: edit_fragment(f, lambda d: d["spec"]["operator"].clear()),
            "requirement robust_controller is missing",
        ),
        (
            lambda f: edit_fragment(
                f, lambda d: requirement(d, "robust_controller")["evidence"].append("see our wiki")
            ),
            "robust_controller: evidence 'see our wiki' names no check in conformance-report.yaml",
        ),
        (lambda f: f.update({FRAGMENT: b"spec: [unclosed"}), "not YAML"),
        (
            lambda f: edit_fragment(f, lambda d: requirement(d, "ai_inference").update(evidence="all of it")),
            "ai_inference: evidence is not a list",
        ),
        (lambda f: f.update({FRAGMENT: b"metadata: {}"}), "has no spec section"),
    ],
)
def test_an_inflated_or_reworded_fragment_is_rejected(
    tmp_path: Path, change: Callable[[dict[str, bytes]], None], problem: str
) -> None:
    problems = fragment_problems(tampered(fresh(tmp_path, "t"), bundle_of(tmp_path, report_of({})), change))
    assert any(problem in p for p in problems), problems


def test_a_claim_needs_the_check_to_pass_in_junit_too(tmp_path: Path) -> None:
    """The report rewritten to say a check passed does not help when JUnit kept its failure."""
    report = report_of({"MonitoringSeesTraffic": "failed"})
    made = bundle_of(tmp_path, report)

    def rewrite(files: dict[str, bytes]) -> None:
        report = yaml.safe_load(files[bundle.REPORT])
        for check in report["checks"]:
            if check["name"] == "MonitoringSeesTraffic":
                check["outcome"] = check["items"][0]["outcome"] = "passed"
        files[bundle.REPORT] = yaml.safe_dump(report).encode()
        edit_fragment(files, lambda d: requirement(d, "ai_service_metrics").update(status="Implemented"))

    assert (
        f"{FRAGMENT}: ai_service_metrics claims Implemented, but its check MonitoringSeesTraffic failed in "
        f"{bundle.JUNIT}" in fragment_problems(tampered(fresh(tmp_path, "t"), made, rewrite))
    )


def test_the_claims_table_names_only_what_the_verifier_can_hold() -> None:
    """Every requirement with checks has a ceiling it can earn, and a partial one says what stays unshown
    (a partial tier too, and it rests on some of the required checks); one without says why (it may still
    cite supporting evidence)."""
    for r in ai_conformance.requirements():
        if r.get("required"):
            assert r["status"] in ai_conformance.CLAIMS and r["shows"], r["id"]
            assert (r["status"] == ai_conformance.PARTIAL) == bool(r.get("unshown")), r["id"]
        else:
            assert r["why"] and not r.get("partially"), r["id"]
        if r.get("partially"):
            tier = r["partially"]
            assert r["status"] == ai_conformance.IMPLEMENTED and tier["shows"] and tier["unshown"], r["id"]
            assert set(tier["checks"]) < set(r["required"]), r["id"]


def test_every_mapped_check_is_one_this_suite_defines() -> None:
    """A misspelt or renamed check would leave its requirement unshown forever, without a word."""
    assert not MAPPED - verify.defined_checks(), sorted(MAPPED - verify.defined_checks())


def on_the_stand_in(report: dict[str, Any]) -> dict[str, Any]:
    """The report of a certification run that reached the suite's own embedded target as an existing cluster."""
    return {**report, "cluster": {"kubernetes_version": f"v1.36.0{ai_conformance.STAND_IN_VERSION}"}}


def test_a_certification_run_against_the_embedded_target_claims_nothing() -> None:
    """Every check passing on the stand-in shows nothing about a platform, however the run reached it."""
    got = entries(on_the_stand_in(report_of({})))
    assert not [rid for rid, e in got.items() if e["status"]], got
    notes = got["robust_controller"]["notes"]
    assert "run against the suite's own embedded local target (Kubernetes v1.36.0+kserve-conformance-local)" in notes


def test_a_claim_from_a_run_against_the_embedded_target_is_rejected(tmp_path: Path) -> None:
    made = bundle_of(tmp_path, on_the_stand_in(report_of({})))
    problems = fragment_problems(tampered(fresh(tmp_path, "t"), made, claim("robust_controller", "Implemented")))
    assert any(
        "robust_controller claims Implemented from a run against the suite's own embedded local target" in p
        for p in problems
    ), problems


def test_the_verifier_holds_a_rehearsal_to_every_rule_but_being_one_when_asked(tmp_path: Path) -> None:
    """``verify --rehearsal``: the reviewer's side of the workflow, tried on a rehearsal's bundle."""
    made = bundle_of(tmp_path, report_of({}, mode="rehearsal"))
    rejected = verify.verify(made)
    assert any("a rehearsal, not a submission" in p for p in rejected), rejected
    assert not any("a rehearsal" in p for p in verify.verify(made, rehearsal=True))
    edited = tampered(fresh(tmp_path, "t"), made, claim("robust_controller", "Implemented"))
    assert any(
        "robust_controller claims Implemented from a run whose mode is 'rehearsal'" in p
        for p in verify.verify(edited, rehearsal=True)
    ), "the flag lets no claim through"


# ai_inference: header-based routing (LLMISVCModelRouting) and weighted splitting (LLMISVCTrafficSplit, opt-in),
# both through the Gateway API HTTPRoute KServe writes. The InferenceService checks only support it.
ROUTING, SPLIT = "LLMISVCModelRouting", "LLMISVCTrafficSplit"


@pytest.mark.parametrize("split", ["not-applicable", "not-supported", None])
def test_ai_inference_without_the_split_is_partially_implemented_saying_what_is_missing(split: str | None) -> None:
    """The split is opt-in: header routing alone earns a part of the requirement, and the notes name the rest."""
    entry = entries(report_of({SPLIT: split}))["ai_inference"]
    assert entry["status"] == "Partially Implemented"
    assert entry["notes"].startswith("Shown by this run: completions are routed by their OpenAI model header")
    assert "Not shown by this run: weighted traffic splitting through the Gateway API" in entry["notes"]
    assert f"(the split's check is opt-in): {SPLIT} {ai_conformance.WHY_NOT[split]}" in entry["notes"], entry["notes"]


@pytest.mark.parametrize("split", ["failed", "invalid", "known-deviation"])
def test_ai_inference_with_a_defective_split_is_not_claimed(split: str) -> None:
    """A split that ran and fell short shows a defect, not a part left unshown: nothing is claimed."""
    entry = entries(report_of({SPLIT: split}))["ai_inference"]
    assert entry["status"] == ""
    assert entry["notes"].startswith(f"Not shown by this run: {SPLIT} {ai_conformance.WHY_NOT[split]}"), entry["notes"]


@pytest.mark.parametrize("routing", ["failed", "not-applicable", None])
def test_ai_inference_without_header_routing_is_not_met(routing: str | None) -> None:
    """A failed (or absent) LLMISVCModelRouting leaves the MUST unmet, whatever the split and the
    InferenceService checks showed."""
    for split in ("passed", "not-applicable"):
        entry = entries(report_of({ROUTING: routing, SPLIT: split}))["ai_inference"]
        assert entry["status"] == "", split
        assert entry["notes"].startswith(f"Not shown by this run: {ROUTING} {ai_conformance.WHY_NOT[routing]}"), entry[
            "notes"
        ]
        assert "Supporting, not needed for the status: CanaryTrafficSplit passed" in entry["notes"]


def test_ai_inference_rehearsed_says_what_it_would_earn() -> None:
    entry = entries(report_of({SPLIT: "not-applicable"}, mode="rehearsal"))["ai_inference"]
    assert entry["status"] == ""
    assert entry["notes"].startswith(f"Not claimed: {ROUTING} passed, but This run was a rehearsal"), entry["notes"]
    assert entry["notes"].endswith(
        "would make it Partially Implemented. Supporting, not needed for the status: CanaryTrafficSplit passed; "
        "IngressRoutesHost passed; CanaryPromotion passed; CanaryRollback passed; LatestRevisionTraffic passed."
    ), entry["notes"]


def test_advanced_inference_ingress_needs_a_routing_decision_of_the_picker() -> None:
    """One replica gives the endpoint picker no choice: the prefix routing check is not applicable and the
    claim is not earned, however well the service serves through its InferencePool."""
    entry = entries(report_of({"LLMISVCPrefixRouting": "not-applicable"}))["advanced_inference_ingress"]
    assert entry["status"] == ""
    assert entry["notes"].startswith(
        "Not shown by this run: LLMISVCPrefixRouting is not applicable on this target (not-applicable: what went wrong)"
    ), entry["notes"]
    assert [e.partition(":")[0] for e in entry["evidence"]] == [
        f"{bundle.REPORT}#{name}"
        for name in ("LLMISVCWalkthrough", "LLMISVCAddresses", "LLMISVCPrefixRouting", "LLMISVCPrefixCache")
    ]


def test_disaggregated_inference_stays_unclaimed_saying_why() -> None:
    entry = entries(report_of({}))["disaggregated_inference"]
    assert (entry["status"], entry["evidence"]) == ("", [])
    assert "no check of this suite deploys a disaggregated service" in entry["notes"]
    assert "local target" in entry["notes"] and "refuses spec.prefill" in entry["notes"], entry["notes"]


def test_a_partial_claim_beside_a_gap_is_accepted_and_one_more_is_rejected(tmp_path: Path) -> None:
    made = bundle_of(tmp_path, report_of({SPLIT: "not-applicable"}))
    assert fragment_problems(made) == []
    inflated = tampered(fresh(tmp_path, "t"), made, claim("ai_inference", "Implemented"))
    assert fragment_problems(inflated) == [
        f"{FRAGMENT}: ai_inference claims Implemented, but its check {SPLIT} is not-applicable in {bundle.REPORT}"
    ]


@pytest.mark.parametrize(
    ("outcomes", "problem"),
    [
        ({SPLIT: "failed"}, f"its check {SPLIT} is failed in {bundle.REPORT} (a defect, not a part left unshown)"),
        ({ROUTING: "failed", SPLIT: "not-applicable"}, f"its check {ROUTING} is failed in {bundle.REPORT}"),
    ],
)
def test_a_partial_claim_edited_in_beside_a_defect_is_rejected(
    tmp_path: Path, outcomes: dict[str, str | None], problem: str
) -> None:
    made = bundle_of(tmp_path, report_of(outcomes))
    edited = tampered(fresh(tmp_path, "t"), made, claim("ai_inference", "Partially Implemented"))
    problems = fragment_problems(edited)
    assert f"{FRAGMENT}: ai_inference claims Partially Implemented, but {problem}" in problems, problems
