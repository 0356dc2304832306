"""KServe's own LLMInferenceService e2e tests, unmodified, against the local target.

Their ``llmisvc/`` tests compose ``LLMInferenceServiceConfig`` presets per case, create the service
with KServe's SDK, wait for its Ready contract, read ``status.url``/``status.addresses`` and ask
for a completion through the gateway; others stop and restart a service, convert it between
v1alpha1 and v1alpha2, or read the managed HTTPRoute's parentRefs. What the target provides (real
vLLM on a stand-in model, one node, no GPUs) must pass; the rest is listed in ``llmisvc.yaml`` with
the capability the target lacks, deselected when it could only wait out its timeout
(``test_kserve_e2e.py`` says how the upstream runs are judged).

What their conftest needs, provided as KServe's CI provides it: ``KUBECONFIG``; the seed namespace
``kserve-ci-e2e-test`` (``kubectl create namespace kserve-ci-e2e-test`` in their CI; its secrets,
copied into each per-test namespace, are optional and skipped when absent); the ``default``
ServiceAccount of each namespace they create (kube-controller-manager's, patched with the storage
secret); KServe's presets in ``kserve`` and the Programmed Gateway ``kserve-ingress-gateway`` (the
install); ``--network-layer`` left at its default ``istio``. ``VLLM_CPU_IMAGE`` and
``OPT_125M_MODEL_URI`` keep their defaults (``vllm/vllm-openai-cpu``, ``hf://facebook/opt-125m``),
which the target runs as vLLM on its stand-in.
"""

from __future__ import annotations

import pytest

from kserve_conformance.providers.local import LocalOptions
from tests.e2e_upstream import upstream
from tests.e2e_upstream.local_run import E2E_DIR, LLMISVC, run_upstream

# Upstream waits up to 900 s for Ready; on this machine a vLLM workload is Ready in 30 s quiet and
# 70-115 s beside other suites, and the stop test starts it twice.
LLMISVC_TIMEOUT_S = 600


@pytest.mark.generative
@pytest.mark.vllm
def test_upstream_llmisvc_e2e(
    tmp_path_factory: pytest.TempPathFactory, record_testsuite_property: pytest.RecordProperty
) -> None:
    """KServe's llmisvc tests: what one CPU node runs passes, every other test is listed."""
    found = upstream.missing_upstream(E2E_DIR, LLMISVC)
    assert not found, "\n".join(found)
    work = tmp_path_factory.mktemp("kserve-e2e-llmisvc")
    results = run_upstream(
        work,
        LocalOptions(generative=True),
        len(LLMISVC.selected),
        LLMISVC.select(),
        LLMISVC,
        LLMISVC_TIMEOUT_S,
    )
    print(
        f"\nKServe's LLMInferenceService e2e tests on the local target (log: {work / 'upstream.log'}):\n"
        + upstream.table(results, LLMISVC)
    )
    for name, got in sorted(results.items()):
        record_testsuite_property(f"kserve-e2e:{name}", f"{got.outcome} {got.seconds:.1f}s")
    found = upstream.problems(results, LLMISVC)
    assert not found, "KServe's llmisvc e2e tests disagree with tests/e2e_upstream/llmisvc.yaml:\n" + "\n".join(found)
