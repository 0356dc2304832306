"""Rollout and scaling controls: each check fails against a local target broken in its way, and
passes (or says *not supported*) where its part of the target is healthy, in Knative and in
Standard mode.

Standard mode's runs are in test_lifecycle_controls_standard.py (a file per CI process). Each
run selects only the lifecycle modules (``-m lifecycle``). Faults that break different checks
share one run, so CI starts five targets for ten controls. A fault that makes a check wait its
timeout out gets a short ``--kserve-scale-timeout``, still long enough for the healthy local target to
scale where that run needs it to. Every check also passes on the healthy target in Knative mode
in README command 1 (CI runs it), which the self-tests do not repeat. The figures measured in
these runs are printed (``-s``), never asserted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ISVC_CRD
from tests.controls.runner import Run, run_suite

BASE = (
    "-m",
    "lifecycle",
    f"--kserve-local-crd={ISVC_CRD}",
    "--kserve-ready-timeout=60",
    "--kserve-traffic-timeout=60",
    "--kserve-request-timeout=30",
)
# The local target scales to zero about 15 s after the last request (a 6 s window, then its grace
# period) and up under load within about as long; a fault that stops scaling fails after this.
SHORT = "--kserve-scale-timeout=35"
# A run in which AutoscaleUp must pass needs room for new replicas to start: under CI's parallel
# self-tests (four suites on two cores) a model server has taken more than 35 s to become ready.
ROOMY = "--kserve-scale-timeout=90"

# The KEDA path is Standard mode's; its control is in test_lifecycle_controls_standard.py.
NOT_KEDA = ("-k", "not custom_metric")

# name: (faults joined by "+", further options)
RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "never": ("canary-ignored+never-scale-to-zero+no-scale-down", (ROOMY, *NOT_KEDA)),
    "drops": ("rollout-drops+no-activator+no-autoscale", (SHORT, *NOT_KEDA)),
    # the rollout breaks at its last step; the cold start is judged by an impossible ceiling
    "rollback-ceiling": ("rollback-ignored", (SHORT, "--kserve-cold-start-ceiling=0.001", "-k", "not autoscale")),
}

CONTROLS = [
    # (run, check by short name, words its failure must contain)
    ("never", "CanaryTrafficSplit", "1000 of 1000 answered by the canary revision"),
    ("never", "CanaryTrafficSplit", "outside the 99.9 % binomial interval [70, 132] for 10 %"),
    ("never", "ScaleToZero", "idle the predictor still has 1 ready replica (pod "),
    ("never", "AutoscaleDown", "after the load stopped the predictor still has"),
    ("drops", "CanaryPromotion", "requests failed during promotion: 503 \u00d7"),
    ("drops", "ColdStart", "predict answered 503"),
    ("drops", "AutoscaleUp", "ready replicas stayed at 1 (minReplicas 1)"),
    ("rollback-ceiling", "CanaryRollback", "requests after the rollback were not answered by the previous revision"),
    ("rollback-ceiling", "ColdStart", "above the --kserve-cold-start-ceiling of 0.001 s"),
]
# The checks that must pass in a run (its faults break only the others).
PASSES = {
    "never": ("AutoscaleUp",),
    "drops": ("CanaryTrafficSplit", "ScaleToZero"),
    "rollback-ceiling": ("CanaryTrafficSplit", "CanaryPromotion", "ScaleToZero"),
}
KNATIVE_ONLY = ("CanaryTrafficSplit", "CanaryPromotion", "CanaryRollback", "ScaleToZero", "ColdStart")


def suite_runs(
    tmp_path_factory: pytest.TempPathFactory, table: dict[str, tuple[str, tuple[str, ...]]]
) -> Callable[[str], Run]:
    """The runs of ``table`` by name, each made once (the module's controls share them)."""
    cache: dict[str, Run] = {}

    def run(name: str) -> Run:
        if name not in cache:
            faults, extra = table[name]
            cache[name] = run_suite(
                tmp_path_factory.mktemp(name),
                *BASE,
                *extra,
                *(f"--kserve-local-fault={f}" for f in faults.split("+") if f),
                timeout_s=900,
            )
            print_figures(name, cache[name].report_dir / "junit.xml")
        return cache[name]

    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    return suite_runs(tmp_path_factory, RUNS)


def print_figures(name: str, junit: Path) -> None:
    """The measured times, for the person reading the self-test output (``-s``); never asserted."""
    if not junit.exists():
        return
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name", "").startswith("kserve-conformance.figure."):
                print(f"[{name}] {case.get('name')}: {prop.get('name').rpartition('.')[2]} = {prop.get('value')} s")


@pytest.mark.parametrize(("run_name", "check", "words"), CONTROLS, ids=[f"{r}-{c}" for r, c, _ in CONTROLS])
def test_lifecycle_check_fails_naming_the_defect(runs, run_name: str, check: str, words: str) -> None:
    verdict = runs(run_name).failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"


@pytest.mark.parametrize("run_name", sorted(PASSES))
def test_lifecycle_checks_pass_where_their_part_is_healthy(runs, run_name: str) -> None:
    run = runs(run_name)
    outcomes = {check: run.outcome(check) for check in PASSES[run_name]}
    assert set(outcomes.values()) == {"passed"}, f"{outcomes}\n{run.output[-4000:]}"


def test_dependent_checks_skip_after_a_failure(runs) -> None:
    """A check whose predecessor failed is skipped with the reason, not failed a second time."""
    for name, check, reason in (
        ("never", "CanaryPromotion", "CanaryTrafficSplit did not pass"),
        ("never", "ColdStart", "never scaled to zero"),
        ("drops", "CanaryRollback", "CanaryPromotion did not pass"),
        ("drops", "AutoscaleDown", "AutoscaleUp did not pass"),
    ):
        verdict = next(iter(runs(name).matching(check).values()))
        assert verdict.outcome == "skipped" and reason in verdict.message, (check, verdict)


@pytest.mark.parametrize(
    ("run_name", "expected"),
    [
        ("rollback-ceiling", {"idle-to-zero-s", "cold-start-s"}),  # the cold start is measured, then judged
    ],
)
def test_report_carries_the_figures(runs, run_name: str, expected: set[str]) -> None:
    import yaml

    report = yaml.safe_load((runs(run_name).report_dir / "conformance-report.yaml").read_text())
    figures = {name for check in report["checks"] for item in check["items"] for name in item.get("figures", {})}
    assert expected <= figures, figures
