"""OpenAI-compatible model list and model object (``GET /v1/models``, ``GET /v1/models/{model}``).

Levels follow the rule in ``kserve_conformance.checks.spec``: core is what the OpenAI reference
requires and every generative runtime KServe ships (the Hugging Face runtime on KServe's OpenAI
layer, the vLLM runtime on vLLM's own server) does; the rest is extended. Quotes are from the
OpenAI API reference (``openai/openapi.yaml``).
"""

from __future__ import annotations

import json

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, not_supported
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.reporting import openai_steps as steps

pytestmark = [pytest.mark.services(protocol="openai"), pytest.mark.usefixtures("kserve_openai_deviation")]


@conformance(
    "ModelList",
    "GET /v1/models answers a ListModelsResponse (object list, data of Model objects, each with id, object, created "
    "and owned_by), listing the served model.",
    spec='"Lists the currently available models"; object "list"; Model requires "id", "object", "created" and '
    '"owned_by"',
    features=(Feature.OPENAI,),
)
def test_model_list(kserve_openai: OpenAIPlane) -> None:
    doc = oc.ok_json(steps.get(kserve_openai, "/v1/models"))
    problems = openai.schema_problems(doc, "ListModelsResponse")
    assert not problems, f"the model list is not a ListModelsResponse: {'; '.join(problems)}"
    ids = [m["id"] for m in doc["data"]]
    assert kserve_openai.model in ids, f"the model list names {ids}, not the served model {kserve_openai.model!r}"


@conformance(
    "ModelRetrieve",
    "GET /v1/models/{model} answers a Model object with the requested id. A server without the route (404 for the "
    "served model) does not support it.",
    spec='"Retrieves a model instance, providing basic information about the model such as the owner and '
    'permissioning."; "id"',
    level=EXTENDED,
    features=(Feature.OPENAI, Feature.OPENAI_RETRIEVE_MODEL),
)
def test_model_retrieve(kserve_openai: OpenAIPlane) -> None:
    exchange = steps.get(kserve_openai, f"/v1/models/{kserve_openai.model}")
    if exchange.status in (404, 405):
        not_supported(
            Feature.OPENAI_RETRIEVE_MODEL, f"GET /v1/models/{{model}} for the served model answers {exchange.status}"
        )
    doc = oc.ok_json(exchange)
    assert isinstance(doc, dict), f"GET /v1/models/{kserve_openai.model} answered {json.dumps(doc)[:200]}, not a Model"
    problems = openai.schema_problems(doc, "Model")
    assert not problems, (
        f"GET /v1/models/{kserve_openai.model} is not a Model: {json.dumps(doc)[:200]}: {'; '.join(problems)}"
    )
    assert doc["id"] == kserve_openai.model, f"the model object names {doc['id']!r}, not {kserve_openai.model!r}"
