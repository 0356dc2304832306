"""OpenAI-compatible completions and chat completions, not streamed.

Every check runs on both endpoints (``[completions]``, ``[chat]``) at temperature 0 with the
prompts of ``payloads/openai.yaml``. No expected text is stored: the checks compare a server's
answers with each other (a stop string is taken from its own output), so they hold for any model.
Levels follow the rule in ``kserve_conformance.checks.spec``. Quotes are from the OpenAI API
reference (``openai/openapi.yaml``).
"""

from __future__ import annotations

import json

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, not_applicable, not_supported
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.reporting import openai_steps as steps

pytestmark = [
    pytest.mark.services(protocol="openai"),
    pytest.mark.usefixtures("kserve_openai_deviation"),
    pytest.mark.parametrize("kind", oc.KINDS),
]


@conformance(
    "CompletionSchema",
    "POST /v1/completions returns a CreateCompletionResponse (object text_completion); POST /v1/chat/completions a "
    "CreateChatCompletionResponse (object chat.completion, each choice a message with role assistant). Fields the "
    "reference does not define (vLLM's stop_reason, token_ids, ...) are allowed.",
    spec='"Returns a completion object"; object "text_completion"; object "chat.completion"; role "assistant"',
    features=(Feature.OPENAI,),
)
def test_completion_schema(kserve_openai: OpenAIPlane, kind: str) -> None:
    endpoint = oc.ENDPOINTS[kind]
    doc = steps.answer(kserve_openai, kind)
    problems = openai.schema_problems(doc, endpoint.schema)
    assert not problems, f"the answer is not a {endpoint.schema}: {'; '.join(problems)}"
    assert doc["object"] == endpoint.object, f"object is {doc['object']!r}, not {endpoint.object!r}"


@conformance(
    "CompletionUsage",
    "The answer's usage adds up: total_tokens is prompt_tokens + completion_tokens. An answer without usage does not "
    "support it (the reference does not require the field).",
    spec='total_tokens: "Total number of tokens used in the request (prompt + completion)."',
    features=(Feature.OPENAI, Feature.OPENAI_USAGE),
)
def test_completion_usage(kserve_openai: OpenAIPlane, kind: str) -> None:
    doc = steps.answer(kserve_openai, kind)
    if doc.get("usage") is None:
        not_supported(Feature.OPENAI_USAGE, "the answer carries no usage")
    problem = oc.usage_problem(doc["usage"])
    assert problem is None, problem


@conformance(
    "CompletionMaxTokens",
    'max_tokens is honoured: a generation cut there ends with finish_reason "length", and its text begins the uncut '
    "answer at temperature 0. An answer the model ends within the limit has nothing to cut: not applicable.",
    spec='"The maximum number of [tokens](/tokenizer) that can be generated in the completion."; "`length` if the '
    'maximum number of tokens specified in the request was reached"',
    features=(Feature.OPENAI,),
)
def test_completion_max_tokens(kserve_openai: OpenAIPlane, kind: str) -> None:
    limit = oc.PAYLOADS["short_max_tokens"]
    full = steps.answer(kserve_openai, kind)
    full_text = oc.text_of(kind, full)
    cut = steps.answer(kserve_openai, kind, max_tokens=limit)
    text = oc.text_of(kind, cut)
    usage = cut.get("usage") or {}
    used = usage.get("completion_tokens")
    if isinstance(used, int):
        assert used <= limit, f"max_tokens {limit} but usage.completion_tokens is {used}: max_tokens was not honoured"
    full_used = (full.get("usage") or {}).get("completion_tokens")
    longer = full_text != text and (not isinstance(full_used, int) or full_used > limit)
    if not longer:
        # The model stopped on its own within the limit (an empty answer, say): there is no cut to judge.
        seen = (
            f"with max_tokens {limit} the answer is the uncut one, {full_text!r}"
            if full_text == text
            else f"the uncut answer {full_text!r} has {full_used} tokens, within max_tokens {limit}"
        )
        not_applicable(f"{seen}: the model's temperature-0 answer is too short for max_tokens to cut")
    finish = cut["choices"][0].get("finish_reason")
    assert finish == "length", f"cut at max_tokens {limit}, finish_reason is {finish!r}, not 'length'"
    assert len(text) < len(full_text) and full_text.startswith(text), (
        f"with max_tokens {limit} the text {text!r} is not a beginning of the uncut answer {full_text!r}: "
        "max_tokens was not honoured"
    )


@conformance(
    "CompletionStop",
    'A stop sequence ends the generation and is left out, and finish_reason is "stop". The stop string is a word of '
    "the model's own temperature-0 answer, so the answer must end right before its first occurrence (an empty text "
    "where the answer begins with it); an answer no stop string can be taken from (empty, one character) makes the "
    "check not applicable.",
    spec='"Up to 4 sequences where the API will stop generating further tokens. The returned text will not contain '
    'the stop sequence."; "`stop` if the model hit a natural stop point or a provided stop sequence"',
    features=(Feature.OPENAI,),
)
def test_completion_stop(kserve_openai: OpenAIPlane, kind: str) -> None:
    """Which stop string is taken, and why that one (how servers match stop strings): ``openai_checks.stop_from``."""
    full_text = oc.text_of(kind, steps.answer(kserve_openai, kind))
    probe = oc.stop_from(full_text)
    if probe is None:
        not_applicable(oc.no_stop_reason(full_text))
    stop, expected = probe.stop, probe.expected(full_text)
    doc = steps.answer(kserve_openai, kind, stop=[stop])
    text = oc.text_of(kind, doc)
    assert stop not in text, f"stop {stop!r}: the returned text {text!r} contains the stop sequence"
    assert text == expected, (
        f"stop {stop!r}: expected the answer {full_text!r} up to its first occurrence, {expected!r}, got {text!r}"
    )
    finish = doc["choices"][0].get("finish_reason")
    assert finish == "stop", f"stop {stop!r} was hit, but finish_reason is {finish!r}, not 'stop'"


@conformance(
    "CompletionModelName",
    "The answer names the requested model. A more specific name of it (a dated snapshot: gpt-4o answered as "
    "gpt-4o-2024-08-06) conforms; another model does not.",
    spec='"The model used for completion."',
    features=(Feature.OPENAI,),
)
def test_completion_model_name(kserve_openai: OpenAIPlane, kind: str) -> None:
    doc = steps.answer(kserve_openai, kind)
    assert openai.names_model(kserve_openai.model, doc.get("model")), (
        f"requested model {kserve_openai.model!r}, the answer names {doc.get('model')!r}"
    )


@conformance(
    "CompletionDeterminism",
    "Repeated temperature-0 requests give the same text. The reference promises no more than a more deterministic "
    "answer at a low temperature, so this is extended.",
    spec='"lower values like 0.2 will make it more focused and deterministic"',
    level=EXTENDED,
    features=(Feature.OPENAI,),
)
def test_completion_determinism(kserve_openai: OpenAIPlane, kind: str) -> None:
    texts = [oc.text_of(kind, steps.answer(kserve_openai, kind)) for _ in range(oc.PAYLOADS["repeats"])]
    assert len(set(texts)) == 1, f"{len(texts)} temperature-0 answers differ: {json.dumps(texts)[:600]}"
