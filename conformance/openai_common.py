"""What the openai check modules share: the two generation endpoints, requests, and reading answers.

The checks run on both of the reference's generation endpoints, ``/v1/completions`` ("kind"
``completions``) and ``/v1/chat/completions`` (``chat``), with the prompts of
``conformance/data/payloads/openai.yaml``. Every request and answer is attached to the Allure step
that made it. Quotes are from the OpenAI API reference (``openai/openapi.yaml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import allure

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane.openai import OpenAIPlane, StreamExchange
from kserve_conformance.dataplane.rest import Exchange
from kserve_conformance.reporting.evidence import attach_exchange, attach_stream

PAYLOADS: dict[str, Any] = load_yaml(DATA / "payloads" / "openai.yaml")
KINDS = ("completions", "chat")


@dataclass(frozen=True)
class Kind:
    """One generation endpoint: its path, the schemas of its answer and stream chunks, its object names."""

    name: str
    path: str
    schema: str
    chunk_schema: str
    object: str
    chunk_object: str


ENDPOINTS = {
    "completions": Kind(
        "completions",
        "/v1/completions",
        "CreateCompletionResponse",
        "CreateCompletionResponse",
        "text_completion",
        "text_completion",
    ),
    "chat": Kind(
        "chat",
        "/v1/chat/completions",
        "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse",
        "chat.completion",
        "chat.completion.chunk",
    ),
}


def body(server: OpenAIPlane, kind: str, **params: Any) -> dict[str, Any]:
    """A temperature-0 request of the payloads' prompt; ``params`` override (``None`` removes a field)."""
    doc: dict[str, Any] = {"model": server.model, "temperature": 0, "max_tokens": PAYLOADS["max_tokens"]}
    if kind == "chat":
        doc["messages"] = PAYLOADS["chat"]["messages"]
    else:
        doc["prompt"] = PAYLOADS["completion"]["prompt"]
    doc.update(params)
    return {k: v for k, v in doc.items() if v is not None}


def post(server: OpenAIPlane, kind: str, doc: dict[str, Any]) -> Exchange:
    path = ENDPOINTS[kind].path
    with allure.step(f"POST {server.prefix}{path}"):
        exchange = server.post(path, doc)
        attach_exchange(exchange)
    return exchange


def post_raw(server: OpenAIPlane, kind: str, raw: bytes) -> Exchange:
    path = ENDPOINTS[kind].path
    with allure.step(f"POST {server.prefix}{path} (raw body)"):
        exchange = server.post_raw(path, raw)
        attach_exchange(exchange)
    return exchange


def get(server: OpenAIPlane, path: str) -> Exchange:
    with allure.step(f"GET {server.prefix}{path}"):
        exchange = server.get(path)
        attach_exchange(exchange)
    return exchange


def stream(server: OpenAIPlane, kind: str, doc: dict[str, Any]) -> StreamExchange:
    path = ENDPOINTS[kind].path
    with allure.step(f"POST {server.prefix}{path} (stream)"):
        exchange = server.stream(path, {**doc, "stream": True})
        attach_stream(exchange)
    return exchange


def ok_json(exchange: Exchange) -> Any:
    """The 2xx answer's JSON; anything else fails naming the status and body."""
    assert 200 <= exchange.status < 300, f"expected success, got {exchange.describe()}"
    doc, problem = openai.body_json(exchange)
    assert problem is None, f"{exchange.method} {exchange.url} answered {problem}"
    return doc


def answer(server: OpenAIPlane, kind: str, **params: Any) -> Any:
    """A successful non-streamed answer with one choice."""
    doc = ok_json(post(server, kind, body(server, kind, **params)))
    choices = doc.get("choices") if isinstance(doc, dict) else None
    assert isinstance(choices, list) and choices, f"the answer has no choices: {json.dumps(doc)[:300]}"
    return doc


def text_of(kind: str, doc: Any) -> str:
    choice = doc["choices"][0]
    text = choice.get("text") if kind == "completions" else (choice.get("message") or {}).get("content")
    assert isinstance(text, str), f"choice 0 carries no text: {json.dumps(choice)[:300]}"
    return text


def delta_text(kind: str, chunk: Any) -> str:
    """The text a stream chunk adds (empty for a chunk without choices, e.g. the usage chunk)."""
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    text = choice.get("text") if kind == "completions" else (choice.get("delta") or {}).get("content")
    return text if isinstance(text, str) else ""


def usage_problem(usage: Any) -> str | None:
    """Why ``usage`` breaks "Total number of tokens used in the request (prompt + completion)."."""
    if not isinstance(usage, dict):
        return f"usage is {json.dumps(usage)}, not an object"
    raw = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    wrong = [k for k, v in raw.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0]
    if wrong:
        return f"usage {json.dumps(raw)}: {', '.join(wrong)} not a count"
    prompt, completion, total = (int(v) for v in raw.values())  # type: ignore[arg-type]
    if total != prompt + completion:
        return f"usage total_tokens {total} != prompt_tokens {prompt} + completion_tokens {completion}"
    return None


def stop_from(text: str) -> tuple[str, int] | None:
    """A stop string taken from the model's own output, and where it first occurs.

    Three characters from the middle of the text (moved right until that is the string's first
    occurrence, and not blank): with it as ``stop``, the same temperature-0 generation must end
    right before that position.
    """
    width = 3
    for start in range(max(1, len(text) // 2), len(text) - width + 1):
        candidate = text[start : start + width]
        if candidate.strip() and text.find(candidate) == start:
            return candidate, start
    return None
