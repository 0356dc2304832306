"""Negative control on a real run: KServe's own llmisvc conversion test fails against a lossy conversion.

The target's ``llmisvc-conversion-lossy`` fault drops ``metadata.labels`` from the v1alpha1 view of
an LLMInferenceService; upstream's round-trip test reads its service back as v1alpha1 and must
fail naming the labels. It needs no model: the assertion comes before any workload would serve.
"""

from __future__ import annotations

from pathlib import Path

from kserve_conformance.providers.local import LocalOptions
from tests.e2e_upstream import upstream
from tests.e2e_upstream.local_run import LLMISVC, run_upstream

ROUND_TRIP = "test_round_trip_conversion_preserves_fields"


def test_upstream_llmisvc_catches_a_lossy_conversion(tmp_path: Path) -> None:
    """A conversion that loses labels fails upstream's round-trip test at its labels assertion."""
    expected = upstream.Expectations(
        (ROUND_TRIP,), {}, {}, {}, ("llmisvc/test_llm_inference_service_conversion.py",), LLMISVC.env
    )
    results = run_upstream(
        tmp_path, LocalOptions(faults=("llmisvc-conversion-lossy",)), 1, ROUND_TRIP, expected, timeout_s=120
    )
    found = upstream.problems(results, expected)
    assert len(found) == 1 and found[0].startswith(f"{ROUND_TRIP} must pass but failed"), found
    assert "User labels should survive round-trip" in found[0], found[0]
