"""No check without a negative control: a check that was never seen to fail may not be able to.

Every conformance check (found by its short name in the installed package, not by a test
function's name, which repeats across modules) must appear in a control list that runs it
against a broken target, or be exempted here with the reason it cannot be controlled.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import kserve_conformance.conformance as package
from kserve_conformance.checks.spec import Check
from tests.controls import (
    test_lifecycle_controls,
    test_lifecycle_controls_standard,
    test_llm_load_controls,
    test_llmisvc_controls,
    test_llmisvc_split_controls,
    test_load_controls,
    test_negative_controls,
    test_openai_controls,
    test_v2_controls,
)

# Controls that are test functions of their own rather than entries of a CONTROLS list.
STANDALONE = {
    "ObservedGeneration": test_negative_controls.test_stale_generation_is_named_in_the_timeout,
    "LoadSLO": test_load_controls.test_one_502_in_a_thousand_fails_on_error_rate_with_the_count,
    "LLMLoadSLO": test_llm_load_controls.test_one_percent_of_streams_stalling_fails_goodput_on_ttft,
    "MetricsTokenCounts": test_negative_controls.test_vllm_token_undercount_fails_metrics_token_counts,
    "CustomMetricAutoscale": test_lifecycle_controls_standard.test_keda_control_fails_custom_metric_autoscale,
}
# Checks that cannot be shown to fail, each with the reason. Empty, and it should stay so.
EXEMPT: dict[str, str] = {}


def all_checks() -> dict[str, Check]:
    checks: dict[str, Check] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, func in inspect.getmembers(module, inspect.isfunction):
            for mark in getattr(func, "pytestmark", []):
                if mark.name == "conformance":
                    check: Check = mark.args[0]
                    assert check.name not in checks, f"two checks are named {check.name}"
                    checks[check.name] = check
    return checks


def controlled() -> set[str]:
    lists = (
        test_negative_controls.CONTROLS,
        test_v2_controls.CONTROLS,
        test_v2_controls.GRPC_CONTROLS,
        test_lifecycle_controls.CONTROLS,
        test_openai_controls.CONTROLS,
        test_llmisvc_controls.CONTROLS,
        test_llmisvc_split_controls.CONTROLS,
    )
    return {check.partition("[")[0] for entries in lists for _, check, _ in entries} | set(STANDALONE)


def test_the_checks_are_found() -> None:
    checks = all_checks()
    assert {"Infer", "PredictTutorial", "GrpcModelInfer", "StatusURL", "LoadSLO"} <= set(checks)
    assert len(checks) >= 36, sorted(checks)


def test_every_check_has_a_negative_control_or_a_written_exemption() -> None:
    checks = set(all_checks())
    missing = sorted(checks - controlled() - set(EXEMPT))
    assert not missing, f"checks without a negative control or exemption: {missing}"
    unknown = sorted((controlled() | set(EXEMPT)) - checks)
    assert not unknown, f"controls name checks that do not exist: {unknown}"
