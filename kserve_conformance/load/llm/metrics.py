"""One stream's figures from its event timeline: the definitions, in one place.

The peer tools give the same names different formulas, so these are stated exactly (and written
into every ``summary.json``, see ``DEFINITIONS``). All times run from the request's **intended**
send time (its slot in the open-loop schedule), not from when it actually left, so a target that
stalls is charged for the requests that queued behind it (no coordinated omission).

* **TTFT** ends at the first chunk that carries content: a non-empty ``choices[].text``
  (completions) or ``choices[].delta.content`` (chat). A chat stream's first chunk usually
  carries only ``delta.role``; it is not a token and does not end TTFT.
* **ITL** is the gap between consecutive content chunks, per token: a chunk carrying *k* tokens
  after a gap *g* contributes *k* values of *g / k*. *k* is known from a client-side tokenizer when
  one is given, else taken as 1 (ITL per chunk; streams whose ``usage`` says they carried more
  tokens than chunks are counted, so the reader knows).
* **TPOT** is ``(e2e - TTFT) / (output tokens - 1)``: the first token is not counted. It is
  undefined for a one-token output (nothing to divide by), and such streams are left out of it.
* **e2e** ends at ``data: [DONE]`` (or at the end of the body when the stream has none).
* **output tokens** is the server's ``usage.completion_tokens`` (asked with
  ``stream_options.include_usage``); when a stream has no usage, its content chunks are counted
  instead and the stream is counted as ``usage_missing``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

DEFINITIONS = {
    "clock": "every time runs from the request's intended send time in the open-loop schedule",
    "ttft_ms": "to the first chunk carrying content (non-empty choices[].text or choices[].delta.content); "
    "a chat stream's role-only first chunk does not count",
    "itl_ms": "gap between consecutive content chunks, per token: a chunk of k tokens after gap g counts k "
    "values g/k; k from the client-side tokenizer when given, else 1 (per chunk)",
    "tpot_ms": "(e2e - TTFT) / (output tokens - 1); undefined, and left out, for one-token outputs",
    "e2e_ms": "to data: [DONE], or the end of the body when there is none",
    "output_tokens": "the server's usage.completion_tokens (stream_options.include_usage); content chunks "
    "counted where usage is missing",
    "goodput": "share of requests that succeeded and met every latency SLO given (TTFT, TPOT)",
}


@dataclass
class Chunk:
    """One SSE data event as the client received it."""

    at_ns: int  # monotonic clock, when the line was read
    content: str  # the text it carried ("" for role-only, usage-only or finish chunks)
    tokens: int = 1  # tokens in the content (client-side tokenizer), 1 when unknown


@dataclass
class Timeline:
    """Everything one request saw, in the order it saw it."""

    intended_ns: int
    sent_ns: int
    chunks: list[Chunk] = field(default_factory=list)
    end_ns: int = 0
    status: int = 0  # HTTP status; 0 = no answer (transport error)
    reason: str = ""
    error: str = ""  # transport error, timeout, or an error event in the stream
    done: bool = False  # data: [DONE] was seen
    usage_tokens: int | None = None  # usage.completion_tokens of the final chunk
    client_tokens: int | None = None  # the client-side tokenizer's count of the whole text


@dataclass(frozen=True)
class StreamFigures:
    """One request's figures (ms), or None where undefined; ``outcome`` is exactly one label."""

    outcome: str  # ok | http_<code> | timeout | connection_error | stream_error | no_done | no_content
    ttft_ms: float | None
    itl_ms: list[float]
    tpot_ms: float | None
    e2e_ms: float | None
    output_tokens: int
    content_chunks: int
    usage_missing: bool
    usage_impossible: str  # why usage cannot be true of what was streamed; "" when it can
    chunks_disagree: bool  # usage != content chunks (a chunk may carry several tokens: not a defect alone)
    client_disagree: bool  # usage != the client-side tokenizer's count (when there is one)
    buffered: bool  # several content chunks, all arrived in one burst, and no client stall explains it
    # The burst arrived as the client woke from a stall (``checks/validity.py``): a healthy stream read
    # late looks the same, so it is no evidence of buffering either way. Set by the worker.
    buffered_explained: bool = False

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "itl_ms"}


BURST_NS = 1_000_000  # content chunks all within 1 ms of each other: delivered at once, not streamed


def figures(t: Timeline, max_tokens: int | None = None) -> StreamFigures:
    """The definitions above applied to one timeline (pure: the unit tests feed it synthetic ones)."""
    content = [c for c in t.chunks if c.content]
    outcome = _outcome(t, content)
    ms = 1e6
    ttft = (content[0].at_ns - t.intended_ns) / ms if content else None
    itl: list[float] = []
    for prev, cur in itertools.pairwise(content):
        k = max(1, cur.tokens)
        itl.extend([(cur.at_ns - prev.at_ns) / ms / k] * k)
    e2e = (t.end_ns - t.intended_ns) / ms if t.end_ns else None
    usage_missing = t.usage_tokens is None
    tokens = len(content) if t.usage_tokens is None else t.usage_tokens
    tpot = (e2e - ttft) / (tokens - 1) if ttft is not None and e2e is not None and tokens > 1 else None
    impossible = ""
    if t.usage_tokens is not None and content:
        if t.usage_tokens < len(content):
            impossible = f"usage says {t.usage_tokens} tokens, {len(content)} content chunks were streamed"
        elif max_tokens is not None and t.usage_tokens > max_tokens:
            impossible = f"usage says {t.usage_tokens} tokens, more than max_tokens {max_tokens}"
    buffered = len(content) >= 2 and content[-1].at_ns - content[0].at_ns < BURST_NS
    return StreamFigures(
        outcome=outcome,
        ttft_ms=ttft if outcome == "ok" else None,
        itl_ms=itl if outcome == "ok" else [],
        tpot_ms=tpot if outcome == "ok" else None,
        e2e_ms=e2e if outcome == "ok" else None,
        output_tokens=tokens,
        content_chunks=len(content),
        usage_missing=usage_missing and outcome == "ok",
        usage_impossible=impossible,
        chunks_disagree=t.usage_tokens is not None and t.usage_tokens != len(content),
        client_disagree=t.client_tokens is not None
        and t.usage_tokens is not None
        and t.client_tokens != t.usage_tokens,
        buffered=buffered,
    )


def _outcome(t: Timeline, content: list[Chunk]) -> str:
    if t.status == 0:
        return "timeout" if "timeout" in t.error else "connection_error"
    if t.status != 200:
        return f"http_{t.status}"
    if t.error:
        return "timeout" if "timeout" in t.error else "stream_error"
    if not t.done:
        return "no_done"
    if not content:
        return "no_content"
    return "ok"


def content_of(event: dict[str, Any]) -> str:
    """The text one chunk adds: completions' ``choices[].text`` or chat's ``choices[].delta.content``."""
    out = []
    for choice in event.get("choices") or ():
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if isinstance(text, str):
            out.append(text)
    return "".join(out)
