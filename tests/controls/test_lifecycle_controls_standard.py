"""Rollout and scaling controls in Standard mode: the HPA path's control and the KEDA path's
(``keda-ignores-trigger``: KEDA reads the trigger, its ScaledObject says Active, the replicas stay),
the autoscaling checks passing on the healthy target, and the Knative-only checks *not supported*
(nothing created). The KEDA path needs the local target's Prometheus (Debian's ``prometheus``).

The runs and helpers are test_lifecycle_controls.py's; this module holds the Standard-mode runs
so that they can run apart from the Knative ones: serial (``pytest tests -m serial``), because the
HPA scales on the predictor's CPU utilization, which three neighbouring self-test processes on
two cores take away (CI saw AutoscaleUp fail there: one replica at 4 concurrent for 90 s), while
Knative's autoscaler counts concurrent requests, which they do not change.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls import test_lifecycle_controls as knative
from tests.controls.runner import Run

RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "standard-no-autoscale": (
        "no-autoscale+keda-ignores-trigger",
        ("--kserve-local-deployment-mode=Standard", knative.SHORT),
    ),
    "standard": ("", ("--kserve-local-deployment-mode=Standard", "--kserve-scale-timeout=90", "-k", "autoscale")),
}
KNATIVE_ONLY = knative.KNATIVE_ONLY

pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    return knative.suite_runs(tmp_path_factory, RUNS)


def test_hpa_control_fails_autoscale_up(runs) -> None:
    verdict = runs("standard-no-autoscale").failed("AutoscaleUp")
    assert "ready replicas stayed at 1 (minReplicas 1)" in verdict.message, verdict.message[:2000]


def test_keda_control_fails_custom_metric_autoscale(runs) -> None:
    """The HPA fault (no-autoscale) does not touch KEDA's path: only keda-ignores-trigger breaks it."""
    verdict = runs("standard-no-autoscale").failed("CustomMetricAutoscale")
    for words in ("ready replicas stayed at 1 (minReplicas 1)", "KEDA did not scale the predictor", "Active=True"):
        assert words in verdict.message, verdict.message[:2000]


def test_autoscaling_passes_in_standard_mode(runs) -> None:
    run = runs("standard")
    outcomes = {check: run.outcome(check) for check in ("AutoscaleUp", "AutoscaleDown", "CustomMetricAutoscale")}
    assert set(outcomes.values()) == {"passed"}, f"{outcomes}\n{run.output[-4000:]}"


def test_report_carries_the_hpa_figures(runs) -> None:
    import yaml

    report = yaml.safe_load((runs("standard").report_dir / "conformance-report.yaml").read_text())
    figures = {name for check in report["checks"] for item in check["items"] for name in item.get("figures", {})}
    assert {"time-to-scale-up-s", "time-to-scale-down-s"} <= figures, figures


def test_knative_only_checks_are_not_supported_in_standard_mode(runs) -> None:
    run = runs("standard-no-autoscale")
    for check in KNATIVE_ONLY:
        verdict = next(iter(run.matching(check).values()))
        assert verdict.outcome == "skipped" and "not supported: Knative" in verdict.message, (check, verdict)
