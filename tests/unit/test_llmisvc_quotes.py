"""Every sentence the llmisvc checks quote is in KServe's LLMInferenceService docs, word for word.

The checks of ``conformance/test_llmisvc.py`` (feature LLMInferenceService) quote the walk-through
(``genai-first-llmisvc.md``), the status reference (``llmisvc-status.md``) and the canary rollout
(``canary-rollout.md``). Each quoted span must occur in one of them, runs of whitespace read as one
space: a paraphrase fails here. The model-routing check (``conformance/test_llmisvc_routing.py``)
also quotes Gateway API's HTTPRoute CRD, which the reference keeps. The prefix checks
(``conformance/test_llmisvc_prefix.py``) quote ``control-plane-llmisvc.md``, and vLLM's and llm-d's
docs. Each quote from elsewhere (``EXTERNAL``) is named with its source.
"""

from __future__ import annotations

import re
from pathlib import Path

from kserve_conformance.checks.features import Feature
from tests.controls.test_every_check_has_a_control import all_checks

QUOTED = re.compile(r'"((?:[^"\\]|\\.)+)"')
DOCS = ("genai-first-llmisvc.md", "llmisvc-status.md", "canary-rollout.md", "control-plane-llmisvc.md")
# Gateway API's HTTPRoute CRD (its field descriptions): the model-routing check's header match and 404.
NETWORKING = ("gatewayapi_httproute.yaml",)
# Quotes from sources the reference folder does not keep, each with where it is: Kubernetes' API
# changes guide (contributors/devel/sig-architecture/api_changes.md), the rule for conversions.
EXTERNAL = {
    "It must be possible to round-trip your change (convert to different API versions and back) with no loss "
    "of information.": "kubernetes/community api_changes.md",
    # The prefix checks: vLLM's prefix caching design doc and llm-d's optimized-baseline guide.
    "we cache the kv-cache blocks of processed requests, and reuse these blocks when a new request comes in with "
    "the same prefix as previous requests": "vllm-project/vllm docs/design/prefix_caching.md",
    "We only cache full blocks.": "vllm-project/vllm docs/design/prefix_caching.md",
    "When a request arrives, it identifies which pod already holds the matching prefix in KV-cache and routes the "
    "request there.": "llm-d.ai docs/guides/optimized-baseline",
}


def normal(text: str) -> str:
    return " ".join(text.split())


def test_the_llmisvc_checks_quote_kserves_docs(reference: Path) -> None:
    corpus = "\n".join(normal((reference / "kserve" / "docs" / doc).read_text()) for doc in DOCS)
    corpus += "\n".join(normal((reference / "kserve" / "crd" / "networking" / f).read_text()) for f in NETWORKING)
    checks = {n: c for n, c in all_checks().items() if Feature.LLM_INFERENCE_SERVICE in c.features}
    assert set(checks) == {
        "LLMISVCWalkthrough",
        "LLMISVCReadyContract",
        "LLMISVCAddresses",
        "LLMISVCStatusHonesty",
        "LLMISVCConversion",
        "LLMISVCStop",
        "LLMISVCModelRouting",
        "LLMISVCPrefixCache",
        "LLMISVCPrefixRouting",
        "LLMISVCTrafficSplit",
    }
    missing = [
        f"{name}: {quote!r}"
        for name, check in checks.items()
        for quote in QUOTED.findall(check.spec)
        if normal(quote) not in corpus and quote not in EXTERNAL
    ]
    assert not missing, missing


def test_a_paraphrase_is_not_found(reference: Path) -> None:
    """The control: a quote the doc does not have is not in the corpus."""
    corpus = normal((reference / "kserve" / "docs" / "llmisvc-status.md").read_text())
    assert normal("Ready is True when the service serves") not in corpus
