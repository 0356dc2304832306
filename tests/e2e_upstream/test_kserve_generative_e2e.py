"""KServe's own generative e2e tests, unmodified, against the local target.

Their models (Qwen2-0.5B and others) cannot be downloaded here: each test is expected to fail only
at its model-specific answer, or is listed in ``generative.yaml`` with the reason
(``test_kserve_e2e.py`` says how the upstream runs are judged).
"""

from __future__ import annotations

import pytest

from kserve_conformance.providers.local import LocalOptions
from tests.e2e_upstream import upstream
from tests.e2e_upstream.local_run import E2E_DIR, GENERATIVE, run_upstream

# A generative test starts a model server that imports torch and KServe's OpenAI layer (about 20 s
# on a quiet machine, several times that beside other self-tests) before its first request.
GENERATIVE_TIMEOUT_S = 300


@pytest.mark.generative
def test_upstream_generative_e2e(
    tmp_path_factory: pytest.TempPathFactory, record_testsuite_property: pytest.RecordProperty
) -> None:
    """KServe's generative tests: each fails only at its Qwen-specific answer, or as listed."""
    found = upstream.missing_upstream(E2E_DIR, GENERATIVE)
    assert not found, "\n".join(found)
    work = tmp_path_factory.mktemp("kserve-e2e-generative")
    results = run_upstream(
        work,
        LocalOptions(),
        len(GENERATIVE.selected),
        GENERATIVE.select(),
        GENERATIVE,
        GENERATIVE_TIMEOUT_S,
    )
    print(
        f"\nKServe's generative e2e tests on the local target (log: {work / 'upstream.log'}):\n"
        + upstream.table(results, GENERATIVE)
    )
    for name, got in sorted(results.items()):
        record_testsuite_property(f"kserve-e2e:{name}", f"{got.outcome} {got.seconds:.1f}s")
    found = upstream.problems(results, GENERATIVE)
    assert not found, "KServe's generative e2e tests disagree with tests/e2e_upstream/generative.yaml:\n" + "\n".join(
        found
    )
