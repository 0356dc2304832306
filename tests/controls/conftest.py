"""Fixtures shared by the negative controls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.conftest import ISVC_CRD


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[LocalTargetProcess]:
    """A local target in its own process, reached like any cluster through its kubeconfig."""
    options: LocalOptions = getattr(request, "param", LocalOptions())
    options.crd = ISVC_CRD
    process = LocalTargetProcess(options)
    process.start()
    yield process
    process.stop()
