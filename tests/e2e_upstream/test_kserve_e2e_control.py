"""Negative control on a real upstream run: KServe's own e2e test fails against a broken target."""

from __future__ import annotations

from pathlib import Path

from kserve_conformance.providers.local import LocalOptions
from tests.e2e_upstream import upstream
from tests.e2e_upstream.local_run import run_upstream


def test_upstream_catches_a_broken_target(tmp_path: Path) -> None:
    """Negative control on a real run: a model server that predicts the wrong class fails upstream's test."""
    results = run_upstream(tmp_path, LocalOptions(faults=("wrong-prediction",)), 1, select="test_sklearn_kserve")
    found = upstream.problems(results, upstream.Expectations(("test_sklearn_kserve",), {}))
    assert len(found) == 1 and found[0].startswith("test_sklearn_kserve must pass but failed"), found
    assert "[2, 2] == [1, 1]" in found[0], found[0]
