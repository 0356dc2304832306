"""An optional KServe component a distribution does not ship does not fail its submission; one it ships counts.

The verifier's core rule, held to reports built in memory: the whole LLMInferenceService family not
supported (its CRD not served) leaves the report's core profile partial, naming the checks, and the
submission accepted; the family there but one of its core checks failed, or not supported beside
others that ran, fails core as any check would. The data (``certification.yaml``, ``optionalComponents``)
is held to the checks: each component is a feature some check declares.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

import pytest

from kserve_conformance.certification import components, verify
from kserve_conformance.certification.rules import PACKAGE
from kserve_conformance.checks import verdict
from kserve_conformance.checks.features import Feature

LLMISVC = Feature.LLM_INFERENCE_SERVICE.value
# (name, level, features): a core check of the InferenceService path and the family's, core and extended
CHECKS = [
    ("ReadyConditions", "core", ()),
    ("CanaryTrafficSplit", "extended", ("Canary",)),
    ("LLMISVCWalkthrough", "core", (LLMISVC,)),
    ("LLMISVCAddresses", "core", (LLMISVC,)),
    ("LLMISVCConversion", "extended", (LLMISVC,)),
]
ABSENT = {n: "not-supported" for n, _, f in CHECKS if LLMISVC in f}


OTHER = "not supported: Knative: the InferenceService runs in Standard mode"
CRD_ABSENT = f"not supported: {LLMISVC}: the cluster does not serve it (KServe's LLMInferenceService is not installed)"


def checks_of(outcomes: dict[str, str], items: tuple[verdict.Result, ...] = ()) -> list[dict[str, Any]]:
    """One item per check (a not supported one of the family saying it lacks the LLMInferenceService), and ``items``."""
    results = []
    for name, level, features in CHECKS:
        outcome = outcomes.get(name, "passed")
        message = "" if outcome != "not-supported" else CRD_ABSENT if LLMISVC in features else OTHER
        results.append(
            verdict.Result(name, f"conformance/test_x.py::test_{name.lower()}", level, features, outcome, message)
        )
    return verdict.checks([*results, *items])


def core_problems(outcomes: dict[str, str], items: tuple[verdict.Result, ...] = ()) -> list[str]:
    checks = checks_of(outcomes, items)
    report = {"mode": "certification", "suiteVersion": "0.1.0", "checks": checks, "profiles": verdict.profiles(checks)}
    return [p for p in verify.run_problems(report) if "core result" in p]


def test_a_distribution_without_llminferenceservice_is_not_failed_for_it() -> None:
    """Every check of the family not supported: core is partial in the report, and the submission stands."""
    checks = checks_of(ABSENT)
    assert verdict.profiles(checks)["core"]["result"] == "partial"
    assert verdict.profiles(checks)["core"]["unsupportedTests"] == ["LLMISVCAddresses", "LLMISVCWalkthrough"]
    assert components.absent(checks) == [LLMISVC]
    assert components.excused(checks) == ["LLMISVCAddresses", "LLMISVCWalkthrough"]
    assert core_problems(ABSENT) == []


@pytest.mark.parametrize(
    ("outcomes", "problem"),
    [
        ({"LLMISVCWalkthrough": "failed"}, "core result is 'failure', not 'success' (failed: LLMISVCWalkthrough)"),
        (
            {"LLMISVCAddresses": "not-supported"},  # the family is there (the walk-through passed): no excuse
            "core result is 'partial', not 'success' (short of a pass: LLMISVCAddresses)",
        ),
        (
            {**ABSENT, "LLMISVCConversion": "passed"},
            "core result is 'partial', not 'success' (short of a pass: LLMISVCAddresses, LLMISVCWalkthrough)",
        ),
        (
            {**ABSENT, "ReadyConditions": "not-supported"},  # only the optional component's checks are excused
            "core result is 'partial', not 'success' (short of a pass: ReadyConditions)",
        ),
        ({**ABSENT, "ReadyConditions": "failed"}, "core result is 'failure', not 'success' (failed: ReadyConditions)"),
    ],
)
def test_a_shipped_components_core_checks_count_as_any_core_check(outcomes: dict[str, str], problem: str) -> None:
    assert core_problems(outcomes) == [f"conformance-report.yaml: {problem}"]


def openai(service: str, outcome: str, message: str) -> verdict.Result:
    """An item of a core openai check, as the family runs on each generative service (an LLMInferenceService's too)."""
    nodeid = f"conformance/test_openai.py::test_completions[{service}]"
    return verdict.Result("Completions", nodeid, "core", ("OpenAI",), outcome, message)


NO_RUNTIME = "not applicable: the cluster has no ClusterServingRuntime for modelFormat huggingface"


def test_a_check_run_through_the_absent_component_is_excused_too() -> None:
    """The openai checks run through the LLMInferenceService's URL as well: without it, and without a
    generative runtime, their items are not supported for it and not applicable, and no failure."""
    items = (openai("llmisvc-opt-125m", "not-supported", CRD_ABSENT), openai("hf-opt", "not-applicable", NO_RUNTIME))
    assert components.excused(checks_of(ABSENT, items)) == ["Completions", "LLMISVCAddresses", "LLMISVCWalkthrough"]
    assert core_problems(ABSENT, items) == []


def test_a_check_not_supported_for_another_reason_is_not_excused() -> None:
    short = "conformance-report.yaml: core result is 'partial', not 'success' (short of a pass: Completions)"
    items = (
        openai("llmisvc-opt-125m", "not-supported", CRD_ABSENT),
        openai("hf-opt", "not-supported", "not supported: OpenAIStreaming: the server answers one JSON body"),
    )
    assert core_problems(ABSENT, items) == [short]
    # the component there: an item not supported for it counts as any other
    assert core_problems({}, (openai("llmisvc-opt-125m", "not-supported", CRD_ABSENT),)) == [short]


def test_the_family_not_selected_is_not_a_shortfall() -> None:
    """Not applicable (e.g. no LLMInferenceService selected) never made core partial, and still does not."""
    outcomes = {n: "not-applicable" for n in ABSENT}
    assert components.absent(checks_of(outcomes)) == []
    assert core_problems(outcomes) == []


def test_each_optional_component_is_a_feature_some_check_declares() -> None:
    """A misspelt component would excuse nothing, without a word."""
    found = {
        feature.value
        for entry in resources.files(PACKAGE).iterdir()
        if entry.name.startswith("test_") and entry.name.endswith(".py")
        for obj in vars(importlib.import_module(f"{PACKAGE}.{entry.name.removesuffix('.py')}")).values()
        for mark in verify._marks(obj)
        if mark.name == "conformance"
        for feature in mark.args[0].features
    }
    for feature, component in components.optional().items():
        assert feature in found and component["absent"], feature
