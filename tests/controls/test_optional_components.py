"""A KServe without LLMInferenceService: the family is not supported, and a submission is not failed for it.

The certification rule (``certification/components.py``) rests on what the suite really reports
where the component's CRDs are not served: every check of the family, and every openai check run
through the LLMInferenceService's URL, *not supported* for the ``LLMInferenceService`` feature,
none failed. The local target with ``no-llmisvc`` serves neither of its kinds, in any version; the
run deploys nothing, so it costs a target's start (about 10 s). The rule's negative cases (the
component there, or a check not supported for another reason) are unit tests
(``tests/unit/test_certification_components.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kserve_conformance.certification import components, verify
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import NOT_SUPPORTED
from tests.controls.runner import run_suite

pytestmark = pytest.mark.generative  # the openai services are selected: the suite makes sure their venv exists

REASON = f"{NOT_SUPPORTED} {Feature.LLM_INFERENCE_SERVICE}:"


def test_a_kserve_without_llminferenceservice_is_not_failed_for_it(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        "--kserve-services=llmisvc-opt-125m,llmisvc-canary",
        "--kserve-local-fault=no-llmisvc",
        "-k",
        "llmisvc",
        timeout_s=300,
    )
    assert run.returncode == 0, run.output[-3000:]
    report = yaml.safe_load((run.report_dir / "conformance-report.yaml").read_text())
    checks = report["checks"]
    family = {c["name"] for c in checks if Feature.LLM_INFERENCE_SERVICE in c["features"]}
    assert {"LLMISVCWalkthrough", "LLMISVCModelRouting", "LLMISVCTrafficSplit"} <= family, sorted(family)
    assert any(c["name"] not in family for c in checks), "an openai check through the service's URL ran"
    unsupported = {c["name"] for c in checks if c["outcome"] == "not-supported" and c["message"].startswith(REASON)}
    assert family <= unsupported, {c["name"]: c["message"] for c in checks if c["name"] in family - unsupported}
    wrong = {
        c["name"]: c["message"] for c in checks if c["name"] not in unsupported and c["outcome"] != "not-applicable"
    }
    assert not wrong, wrong  # e.g. a check that reads only InferenceServices is not applicable to the service
    assert report["profiles"]["core"]["result"] == "partial"  # true: those checks were not supported
    core = {c["name"] for c in checks if c["level"] == "core" and c["outcome"] == "not-supported"}
    assert components.excused(checks) == sorted(core)
    as_submitted = {**report, "mode": "certification", "suiteVersion": "0.1.0"}
    assert not [p for p in verify.run_problems(as_submitted) if "core result" in p]
