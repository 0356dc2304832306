"""LLMInferenceService negative controls, the PREFIX run (``llmisvc_runs.py``).

Two workload pods behind a picker that hands endpoints out in turn, started without prefix
caching, fail the two prefix checks; a gateway that ignores HTTPRoute header matches fails the
model-routing check. The run selects only those three, and has a file of its own, which
pytest-xdist runs beside the other llmisvc controls.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.controls.llmisvc_runs import PREFIX, assert_fails_naming, for_run, make_runs
from tests.controls.runner import Run

pytestmark = [pytest.mark.generative, pytest.mark.vllm]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    return make_runs(tmp_path_factory)


@pytest.mark.parametrize(
    ("fault", "check", "words"), for_run(PREFIX), ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(for_run(PREFIX))]
)
def test_llmisvc_check_fails_naming_the_defect(runs: Callable[[str], Run], fault: str, check: str, words: str) -> None:
    assert_fails_naming(runs(fault), check, words)
