"""A certification run on the local target is a rehearsal: it runs end to end and says it is not a submission.

The run is ``tests/certification/conftest.py``'s, shared with the verifier's controls. Serial
(``pytest tests -m serial``): it is the whole suite, load included, at the rate the local target
declares it holds, and a neighbouring suite run would starve that load of CPU.
"""

from __future__ import annotations

import pytest
import yaml

from kserve_conformance.certification import ai_conformance, bundle, verify
from tests.certification.conftest import Rehearsal

pytestmark = pytest.mark.serial


def test_a_rehearsal_runs_end_to_end_and_says_it_is_not_a_submission(rehearsed: Rehearsal) -> None:
    done, path = rehearsed.done, rehearsed.bundle
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"kserve-conformance: rehearsal bundle (not a submission) {path}" in done.stdout, done.stdout[-2000:]
    report = yaml.safe_load(bundle.read(path)[bundle.REPORT])
    assert report["mode"] == "rehearsal" and "stands in for KServe" in report["rehearsal"], report["mode"]
    assert report["load"]["rate"] == 200 and "embedded local target" in report["load"]["why"], report["load"]
    assert report["profiles"]["core"]["result"] == "success", report["profiles"]


def test_a_rehearsal_claims_no_ai_conformance_requirement(rehearsed: Rehearsal) -> None:
    """Its fragment is there, as a submission's would be, but the stand-in target shows nothing about a platform."""
    path = rehearsed.bundle
    fragment = yaml.safe_load(bundle.read(path)[ai_conformance.fragment_name()])
    for entry in (e for entries in fragment["spec"].values() for e in entries):
        assert entry["status"] == "" and "This run was a rehearsal" in entry["notes"], entry


def test_the_verifier_tells_a_rehearsal_from_a_submission(rehearsed: Rehearsal) -> None:
    path = rehearsed.bundle
    problems = verify.verify(path)
    assert any(
        "a rehearsal, not a submission: the embedded local target stands in for KServe" in p for p in problems
    ), problems
