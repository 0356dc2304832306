"""The traffic-split check's negative control: it passes on the local target and fails on its gateway
splitting a routing group evenly, whatever the weights (``llmisvc-weights-ignored``).

The check needs its own entry (``llmisvc-canary``: two LLMInferenceServices, two vLLM starts), so
it has runs of its own, with only its module selected: the healthy one and the broken one. The
fault breaks no other llmisvc check (the walk-through's service is in no group: one backendRef per
rule), but the group's two deployments are needed to see it, so it is kept out of the routing run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls.runner import Run, run_suite

pytestmark = [pytest.mark.generative, pytest.mark.vllm]

SELECT = ("--kserve-services=llmisvc-canary", "--kserve-ready-timeout=600", "-k", "llmisvc_split")
WEIGHTS_IGNORED = "llmisvc-weights-ignored"
# (fault, check by short name, words its failure must contain)
CONTROLS = [
    (WEIGHTS_IGNORED, "LLMISVCTrafficSplit", "the gateway does not split by weight 9:1 (my-model-v1:my-model-v2)"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """One suite run per fault (the empty one: the healthy target), made when first asked for."""
    cache: dict[str, Run] = {}

    def run(fault: str) -> Run:
        if fault not in cache:
            faults = (f"--kserve-local-fault={fault}",) if fault else ()
            cache[fault] = run_suite(tmp_path_factory.mktemp("llmisvc-split"), *SELECT, *faults, timeout_s=1200)
        return cache[fault]

    return run


def test_the_healthy_target_splits_by_weight(runs: Callable[[str], Run]) -> None:
    run = runs("")
    verdict = next(iter(run.matching("LLMISVCTrafficSplit").values()))
    assert verdict.outcome == "passed", verdict.message[:2000]
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize(("fault", "check", "words"), CONTROLS, ids=[c for _, c, _ in CONTROLS])
def test_llmisvc_split_fails_naming_the_defect(runs: Callable[[str], Run], fault: str, check: str, words: str) -> None:
    verdict = runs(fault).failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"
    assert "my-model-v2 got" in verdict.message and "expected 30; p=" in verdict.message, verdict.message[:2000]
