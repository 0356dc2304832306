"""The Allure tree's middle level: a family's checks read as one area, however many modules hold them."""

from __future__ import annotations

import pytest

from kserve_conformance.reporting.allure_labels import area_for


@pytest.mark.parametrize(
    ("module", "area"),
    [
        ("test_llmisvc", "LLMInferenceService"),
        ("test_llmisvc_routing", "LLMInferenceService"),  # a module the family splits into takes its area
        ("test_llmisvc_prefix_cache", "LLMInferenceService"),
        ("test_openai_streaming", "OpenAI streaming"),  # listed itself: its own area, not a family's
        ("test_llm_load", "llm load"),  # test_llm is no family: the module's own name
        ("test_metrics", "metrics"),
    ],
)
def test_each_module_reads_as_its_area(module: str, area: str) -> None:
    assert area_for(module) == area
