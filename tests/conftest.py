"""Self-test fixtures: where the read-only upstream reference data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"
ISVC_CRD = REFERENCE / "kserve" / "crd" / "serving.kserve.io_inferenceservices.yaml"


@pytest.fixture(scope="session")
def reference() -> Path:
    """Upstream data (CRD, ConfigMap, payloads, a real model): the self-tests need it, users do not."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE}: the self-tests expect ../shared beside the repo")
    return REFERENCE
