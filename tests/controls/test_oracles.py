"""The local target is an independent oracle: a bug in the suite's own expectation fails on it.

If the target wrote ``status.url`` with the suite's URL code, a bug there would pass its own
check. It computes URLs from the cluster's ConfigMaps by code of its own, so planting a bug in
the suite's rendering (``mutated_urls/sitecustomize.py``, in every process of the run) makes
StatusURL fail on the healthy target, in both
modes, naming both URLs. The control: the same runs without the bug pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.controls.runner import run_suite

MUTATION = Path(__file__).parent / "mutated_urls"

MODES = ("Knative", "Standard")


@pytest.mark.parametrize("mode", MODES)
def test_a_bug_in_the_suites_url_rendering_fails_status_url(tmp_path, mode: str) -> None:
    pythonpath = os.pathsep.join(p for p in (str(MUTATION), os.environ.get("PYTHONPATH", "")) if p)
    run = run_suite(
        tmp_path,
        f"--kserve-local-deployment-mode={mode}",
        "--kserve-services=sklearn-iris",
        "-k",
        "status_url",
        env={"PYTHONPATH": pythonpath},
    )
    verdict = run.failed("StatusURL")
    assert "status.url is 'http://sklearn-iris" in verdict.message, verdict.message[:2000]
    assert "gives 'http://kserve-conformance-" in verdict.message, verdict.message[:2000]


@pytest.mark.parametrize("mode", MODES)
def test_without_the_bug_status_url_passes(tmp_path, mode: str) -> None:
    run = run_suite(
        tmp_path, f"--kserve-local-deployment-mode={mode}", "--kserve-services=sklearn-iris", "-k", "status_url"
    )
    assert run.outcome("StatusURL") == "passed", run.output[-3000:]
