"""OpenAI-compatible streaming: ``"stream": true`` on completions and chat completions.

The stream is read as it arrives (``dataplane.sse``): every event, every non-data line, and each
event's arrival time from the moment the request was about to be sent. Levels follow the rule in
``kserve_conformance.checks.spec``. Quotes are from the OpenAI API reference (``openai/openapi.yaml``).
Where the reference says other chunks of a usage-reporting stream "will also include a `usage`
field, but with a null value", an absent field is read as null (the official client does so).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable
from kserve_conformance.checks.validity import witnessing
from kserve_conformance.dataplane import delivery, openai
from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.reporting import openai_steps as steps
from kserve_conformance.reporting.evidence import counts_property, figure, measured_text

pytestmark = [pytest.mark.services(protocol="openai"), pytest.mark.usefixtures("kserve_openai_deviation")]
both = pytest.mark.parametrize("kind", oc.KINDS)
chat_only = pytest.mark.parametrize("kind", ["chat"])


@both
@conformance(
    "StreamContentType",
    "A stream is served as text/event-stream, the content type of the event-stream format; the chat endpoint's 200 "
    "answer lists the text/event-stream content type.",
    spec='"data-only [server-sent events]"',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_content_type(kserve_openai: OpenAIPlane, kind: str) -> None:
    exchange = steps.streamed(kserve_openai, kind)
    media = exchange.stream.content_type().partition(";")[0].strip().lower()
    assert media == "text/event-stream", (
        f"the stream's content type is {exchange.stream.content_type() or 'missing'!r}, not text/event-stream"
    )


@both
@conformance(
    "StreamDataOnly",
    "Every event is data only: no event:, id:, retry: or comment lines, and every data event before [DONE] is one "
    "JSON chunk.",
    spec='"tokens will be sent as data-only [server-sent events]"',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_data_only(kserve_openai: OpenAIPlane, kind: str) -> None:
    exchange = steps.streamed(kserve_openai, kind)
    others = [(name or "(comment)", value) for event in exchange.stream.events for name, value in event.fields]
    assert not others, f"the stream has non-data lines, e.g. {others[:3]}: not data-only server-sent events"
    oc.chunks_of(exchange)


@both
@conformance(
    "StreamDone",
    "The stream ends with [DONE]; nothing follows it.",
    spec='"with the stream terminated by a `data: [DONE]` message"',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_done(kserve_openai: OpenAIPlane, kind: str) -> None:
    exchange = steps.streamed(kserve_openai, kind)
    events = exchange.stream.events
    assert events and events[-1].done, (
        f"the stream's last event is {events[-1].data[:200] if events else 'none'!r}"
        f"{' (undispatched: ' + exchange.stream.trailing[:100] + ')' if exchange.stream.trailing else ''}, "
        "not data: [DONE]"
    )
    assert sum(e.done for e in events) == 1, "the stream sends data: [DONE] more than once"


@chat_only
@conformance(
    "StreamSameId",
    "All chunks of a chat stream share one id and one created.",
    spec='"A unique identifier for the chat completion. Each chunk has the same ID." and "The Unix timestamp (in '
    'seconds) of when the chat completion was created. Each chunk has the same timestamp."',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_same_id(kserve_openai: OpenAIPlane, kind: str) -> None:
    chunks = oc.chunks_of(steps.streamed(kserve_openai, kind, stream_options={"include_usage": True}))
    ids = sorted({json.dumps(c.get("id")) for c in chunks})
    created = sorted({json.dumps(c.get("created")) for c in chunks})
    assert len(ids) == 1, f"the chunks carry {len(ids)} ids: {', '.join(ids[:4])}"
    assert len(created) == 1, f"the chunks carry {len(created)} created timestamps: {', '.join(created[:4])}"


@both
@conformance(
    "StreamChunkObjects",
    "Every chunk is the reference's chunk object: for completions the CreateCompletionResponse, object "
    "text_completion; for chat a CreateChatCompletionStreamResponse, object chat.completion.chunk.",
    spec='"both the streamed and non-streamed response objects share the same shape"; object "text_completion"; '
    'object "chat.completion.chunk"',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_chunk_objects(kserve_openai: OpenAIPlane, kind: str) -> None:
    endpoint = oc.ENDPOINTS[kind]
    for i, chunk in enumerate(oc.chunks_of(steps.streamed(kserve_openai, kind))):
        problems = openai.schema_problems(chunk, endpoint.chunk_schema, chunk=True)
        assert not problems, f"chunk {i} is not a {endpoint.chunk_schema}: {'; '.join(problems)}"
        assert chunk.get("object") == endpoint.chunk_object, (
            f"chunk {i} has object {chunk.get('object')!r}, not {endpoint.chunk_object!r}"
        )


@both
@conformance(
    "StreamFinishReason",
    "The model stops once, so a choice's finish_reason is null on every chunk but its last, where it is set.",
    spec='finish_reason: "The reason the model stopped generating tokens."',
    level=EXTENDED,
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_finish_reason(kserve_openai: OpenAIPlane, kind: str) -> None:
    by_choice: dict[Any, list[Any]] = {}
    for chunk in oc.chunks_of(steps.streamed(kserve_openai, kind)):
        for choice in chunk.get("choices") or []:
            by_choice.setdefault(choice.get("index"), []).append(choice.get("finish_reason"))
    assert by_choice, "no chunk carries a choice"
    for index, reasons in by_choice.items():
        early = [r for r in reasons[:-1] if r is not None]
        assert not early, (
            f"choice {index}: finish_reason {early[0]!r} on {len(early)} of {len(reasons)} chunks before the last; "
            "the model stops once"
        )
        assert reasons[-1] is not None, f"choice {index}: the last chunk has no finish_reason"


@both
@conformance(
    "StreamMatchesNonStream",
    "The streamed deltas join to the non-streamed text at temperature 0: the same completion. Rests on determinism, "
    "so extended.",
    spec='"Returns a completion object, or a sequence of completion objects if the request is streamed."',
    level=EXTENDED,
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_matches_non_stream(kserve_openai: OpenAIPlane, kind: str) -> None:
    whole = oc.text_of(kind, steps.answer(kserve_openai, kind))
    joined = "".join(oc.delta_text(kind, c) for c in oc.chunks_of(steps.streamed(kserve_openai, kind)))
    assert joined == whole, f"the joined deltas {joined!r} differ from the non-streamed text {whole!r}"


@chat_only
@conformance(
    "StreamRole",
    "A chat stream's first delta carries the role of the message it starts (delta.role), assistant as in the "
    "non-streamed message.",
    spec='delta.role: "The role of the author of this message."; "assistant"',
    level=EXTENDED,
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_role(kserve_openai: OpenAIPlane, kind: str) -> None:
    chunks = [c for c in oc.chunks_of(steps.streamed(kserve_openai, kind)) if c.get("choices")]
    assert chunks, "no chunk carries a choice"
    delta = chunks[0]["choices"][0].get("delta") or {}
    assert delta.get("role") == "assistant", f"the first delta is {json.dumps(delta)[:200]}, without role 'assistant'"


@both
@conformance(
    "StreamUsageChunk",
    'With stream_options {"include_usage": true}, one chunk before [DONE] carries the usage of the whole request and '
    "no choices; its usage adds up (prompt + completion), and no other chunk carries usage.",
    spec='"an additional chunk will be streamed before the `data: [DONE]` message. The `usage` field on this chunk '
    'shows the token usage statistics for the entire request, and the `choices` field will always be an empty array."',
    level=EXTENDED,
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_usage_chunk(kserve_openai: OpenAIPlane, kind: str) -> None:
    chunks = oc.chunks_of(steps.streamed(kserve_openai, kind, stream_options={"include_usage": True}))
    with_usage = [i for i, c in enumerate(chunks) if c.get("usage") is not None]
    assert with_usage, f"no usage chunk before [DONE] in {len(chunks)} chunks, though include_usage was set"
    last = chunks[-1]
    assert with_usage == [len(chunks) - 1], (
        f"usage on chunks {with_usage} of {len(chunks)}: only the additional last chunk may carry it"
    )
    assert last.get("choices") == [], f"the usage chunk's choices are {json.dumps(last.get('choices'))[:200]}, not []"
    problem = oc.usage_problem(last["usage"])
    assert problem is None, f"the usage chunk's {problem}"


@both
@conformance(
    "StreamIncremental",
    "Tokens arrive as they are generated. One stream whose first content event arrives before the last tenth of its "
    "response time passes; a buffering proxy delivers every event at the end (rule and what excuses a stream: "
    "dataplane/delivery.py).",
    spec='"tokens will be sent as data-only" server-sent events "as they become available"',
    features=(Feature.OPENAI, Feature.OPENAI_STREAMING),
)
def test_stream_incremental(
    kserve_openai: OpenAIPlane, kind: str, kserve_server_pid: int | None, request: pytest.FixtureRequest
) -> None:
    """Up to ``stream_attempts`` streams, each with the client's (and, on the local target, the
    server's) CPU starvation measured in its window: passes at the first incremental stream, fails
    on ``stream_evidence`` held-back streams that nothing on the measuring side explains, and is an
    invalid measurement when the attempts run out first (every attempt is named in the message).
    Earlier versions failed a healthy server whenever a busy machine held every stream back."""
    attempts: list[delivery.Attempt] = []
    limit, evidence = oc.PAYLOADS["stream_attempts"], oc.PAYLOADS["stream_evidence"]
    with witnessing(kserve_server_pid) as witness:
        for _ in range(limit):
            before = witness.mark()
            stream = steps.streamed(kserve_openai, kind, max_tokens=oc.PAYLOADS["stream_max_tokens"]).stream
            after = witness.mark()
            content = [e for e in stream.data_events() if oc.delta_text(kind, json.loads(e.data))]
            done = next((e.at_s for e in stream.events if e.done), stream.end_s)
            first = content[0].at_s if content else done
            window = witness.window(before, after)
            attempts.append(delivery.attempt(len(content), first, done, before.at_ns, window, list(witness.stalls)))
            outcome = delivery.verdict(attempts, evidence, limit)
            if outcome.outcome != "undecided":
                break
    held = [a for a in attempts if a.judgeable and not a.incremental]
    counts_property(
        request.node,
        f"streams-{kind}",
        {"sent": len(attempts), "held-back": len(held), "explained": sum(bool(a.explained_by()) for a in held)},
    )
    measured_text(request.node, f"streams ({kind})", outcome.message)
    if outcome.outcome == "passed":
        last = attempts[-1]
        figure(request.node, f"time to first token ({kind})", last.first_s)
        figure(request.node, f"stream time ({kind})", last.done_s)
        return
    if outcome.outcome == "not-applicable":
        not_applicable(outcome.message)
    if outcome.outcome == "invalid":
        invalid_measurement(outcome.message)
    pytest.fail(outcome.message, pytrace=False)
