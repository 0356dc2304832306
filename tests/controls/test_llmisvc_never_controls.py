"""LLMInferenceService negative controls, the NEVER run (``llmisvc_runs.py``).

A Ready that stays False while the data plane answers (kserve/kserve#5986) fails the contract and
the honesty the other way. The run waits out its ready timeout (300 s), so it has a file of its
own, which pytest-xdist runs beside the other llmisvc controls.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls.llmisvc_runs import NEVER, assert_fails_naming, for_run, make_runs
from tests.controls.runner import Run

pytestmark = [pytest.mark.generative, pytest.mark.vllm]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    return make_runs(tmp_path_factory)


@pytest.mark.parametrize(
    ("fault", "check", "words"), for_run(NEVER), ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(for_run(NEVER))]
)
def test_llmisvc_check_fails_naming_the_defect(runs: Callable[[str], Run], fault: str, check: str, words: str) -> None:
    assert_fails_naming(runs(fault), check, words)
