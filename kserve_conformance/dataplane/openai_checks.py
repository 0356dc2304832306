"""What the openai checks share: the two generation endpoints, their request, and reading answers.

The checks run on both of the reference's generation endpoints, ``/v1/completions`` ("kind"
``completions``) and ``/v1/chat/completions`` (``chat``), with the prompts of
``conformance/data/payloads/openai.yaml``. Requests made as Allure steps, with their evidence
attached, are ``reporting/openai_steps.py`` (this layer may not import reporting). Quotes are from
the OpenAI API reference (``openai/openapi.yaml``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kserve_conformance.checks.catalog import DATA, load_yaml
from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane.openai import OpenAIPlane, StreamExchange
from kserve_conformance.dataplane.rest import Exchange

PAYLOADS: dict[str, Any] = load_yaml(DATA / "payloads" / "openai.yaml")
KINDS = ("completions", "chat")
UNKNOWN_MODEL = "kserve-conformance-no-such-model"  # a model no server serves


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


def openai_base(server: OpenAIPlane) -> str:
    """Where the server's OpenAI routes live, up to ``/v1``: the data plane's base, then the prefix
    the ``kserve_openai`` fixture detected (or ``--kserve-openai-prefix`` gave)."""
    dataplane = server.dataplane
    return f"{dataplane.base_url}{dataplane.path_prefix}{server.prefix}"


def body(server: OpenAIPlane, kind: str, **params: Any) -> dict[str, Any]:
    """A temperature-0 request of the payloads' prompt; ``params`` override (``None`` removes a field)."""
    doc: dict[str, Any] = {"model": server.model, "temperature": 0, "max_tokens": PAYLOADS["max_tokens"]}
    if kind == "chat":
        doc["messages"] = PAYLOADS["chat"]["messages"]
    else:
        doc["prompt"] = PAYLOADS["completion"]["prompt"]
    doc.update(params)
    return {k: v for k, v in doc.items() if v is not None}


def ok_json(exchange: Exchange) -> Any:
    """The 2xx answer's JSON; anything else fails naming the status and body."""
    assert 200 <= exchange.status < 300, f"expected success, got {exchange.describe()}"
    doc, problem = openai.body_json(exchange)
    assert problem is None, f"{exchange.method} {exchange.url} answered {problem}"
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


def chunks_of(exchange: StreamExchange) -> list[Any]:
    """The stream's data chunks; a stream without any fails naming its first bytes."""
    chunks = exchange.chunks()
    assert chunks, f"the stream carried no data chunks: {exchange.stream.raw[:300]!r}"
    return chunks


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


# A word with the whitespace before it: where BPE and SentencePiece tokenizers begin and end tokens.
WORD = re.compile(r"\s*\S+")


@dataclass(frozen=True)
class StopProbe:
    """A stop string from the model's own answer, and where it first occurs in that answer.

    With it as ``stop``, the same temperature-0 generation must end right before that position:
    the text expected is ``answer[:at]``, possibly empty, with finish_reason "stop".
    """

    stop: str
    at: int

    def expected(self, answer: str) -> str:
        return answer[: self.at]


def stop_from(text: str) -> StopProbe | None:
    """The stop string for the model's temperature-0 answer ``text``; ``None`` when none can be taken.

    Any string of the answer is a valid probe by the reference's text ("The returned text will not
    contain the stop sequence."): the generation must end before the string's *first* occurrence,
    which may be the very start (a repetitive answer ``' and and and'`` with stop ``' and'`` must
    answer ``''``). Which string, then, is about how servers match one:

    * vLLM (the vLLM runtime, and the vLLM backend of KServe's Hugging Face runtime) matches on the
      detokenised text: each new token's text is searched together with the stop string's length
      before it (``check_stop_strings``), so a stop string is found at its first occurrence even when
      it begins or ends inside a token.
    * The transformers backend of KServe's Hugging Face runtime encodes the stop string with the
      tokenizer and compares those token ids with the end of the generation
      (``StopSequenceStoppingCriteria``): it finds a stop string only where the model generated
      exactly the tokens the string encodes to.

    So the probe is a whole word with the whitespace before it (``' and'``), taken where it first
    occurs and only where that occurrence is itself a whole word: BPE and SentencePiece tokenizers
    begin a token at a word's leading space and end one before the next whitespace, so such a string
    is the same tokens standing alone as in the answer, and both kinds of matcher stop at it.
    Preferred is one whose first occurrence leaves a non-empty text before it, nearest the middle
    (the stronger check: the server must reproduce that text and then stop); else a word at the
    start (expected text empty). Only an answer without such a word (``'::::'``, text without
    spaces) falls back to up to three characters, chosen alike. The answer's last word is never
    taken (``max_tokens`` may have cut it inside a token), nor any string ending where the answer
    ends, where the stop's cut could not be told from the generation's own end: so an answer of
    fewer than 2 characters has no probe.
    """
    words = [m.group() for m in WORD.finditer(text)]
    whole = [p for w in dict.fromkeys(words) if (p := _first(text, w)) is not None and _is_word(text, p)]
    if whole:
        return _nearest_middle(whole, len(text))
    for blank_ok in (False, True):
        for width in (3, 2, 1):
            parts = {text[i : i + width] for i in range(len(text) - width)}
            found = [p for s in parts if (blank_ok or s.strip()) and (p := _first(text, s)) is not None]
            if found:
                return _nearest_middle(found, len(text))
    return None


def _first(text: str, stop: str) -> StopProbe | None:
    """The stop string at its first occurrence, if that ends before the answer does."""
    at = text.find(stop)
    return StopProbe(stop, at) if at >= 0 and at + len(stop) < len(text) else None


def _is_word(text: str, probe: StopProbe) -> bool:
    """Whitespace (or the start) before the occurrence, whitespace right after it."""
    start_ok = probe.stop[0].isspace() or probe.at == 0 or text[probe.at - 1].isspace()
    return start_ok and text[probe.at + len(probe.stop)].isspace()


def _nearest_middle(probes: list[StopProbe], length: int) -> StopProbe:
    """One leaving text before it if any does: the first at or after the middle, else the last before it."""
    pool = [p for p in probes if p.at > 0] or probes
    middle = length // 2
    return min(pool, key=lambda p: (p.at < middle, abs(p.at - middle), p.stop))


def no_stop_reason(text: str) -> str:
    """Why :func:`stop_from` found no stop string in ``text``: the check's limit, not the server's defect."""
    if not text:
        return "the model's temperature-0 answer is empty: no stop string can be taken from it"
    return (
        f"the model's temperature-0 answer {text!r} has fewer than 2 characters: a stop string taken from it "
        "would end where the answer ends, and its cut could not be told from the generation's own end"
    )
