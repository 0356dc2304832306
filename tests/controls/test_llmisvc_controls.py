"""LLMInferenceService negative controls: the llmisvc checks pass on the local target and fail on it broken.

Each run starts vLLM, so the faults share runs where they break different checks
(``llmisvc_runs.py`` holds the runs; this file judges the healthy one and ROUTING, the NEVER and
PREFIX runs have a file each). In ROUTING, an HTTPRoute without backends behind a Ready status
(kserve/kserve#5385) fails the walk-through's completion and the status's honesty; addresses that
omit the served model's short name, or name a port nothing listens on (status.url left right, so
no longer one of them), fail the addresses check; a conversion that loses the labels in v1alpha1
fails the conversion check; and a stop annotation the controller ignores fails the stop check
(after the delete timeout; the service stays up, so no restart is paid). No fault there touches
another's check (the conversion check stops at the disagreement, before its write). The healthy
run deploys two replicas, so that the prefix routing check has a pod to choose and passes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls.llmisvc_runs import CONTROLS, ROUTING, assert_fails_naming, for_run, make_runs
from tests.controls.runner import Run

pytestmark = [pytest.mark.generative, pytest.mark.vllm]
__all__ = ["CONTROLS"]  # every llmisvc control, read by test_every_check_has_a_control.py


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    return make_runs(tmp_path_factory)


def test_the_healthy_target_passes_every_llmisvc_check(runs: Callable[[str], Run]) -> None:
    run = runs("")
    ran = {v.check: v for v in run.verdicts.values() if v.check.startswith("LLMISVC")}
    assert set(ran) == {c for _, c, _ in CONTROLS}, f"{sorted(ran)}\n{run.output[-3000:]}"
    assert all(v.outcome == "passed" for v in ran.values()), {k: v.message[:1500] for k, v in ran.items()}
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize(
    ("fault", "check", "words"), for_run(ROUTING), ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(for_run(ROUTING))]
)
def test_llmisvc_check_fails_naming_the_defect(runs: Callable[[str], Run], fault: str, check: str, words: str) -> None:
    assert_fails_naming(runs(fault), check, words)
