"""The official ``openai`` Python client's calls, each reading one answer the way a user's code would.

``conformance/test_openai_client.py`` judges whether the client a user actually runs gets through
(lists models, completes, chats, streams both, turns an unknown model into ``NotFoundError``);
each call here returns what it read, for the check's evidence, and fails when the client parsed an
answer into the wrong types.
"""

from __future__ import annotations

from collections.abc import Callable

import openai as client_library
import pytest

from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.dataplane.openai_checks import UNKNOWN_MODEL, body


def client_of(server: OpenAIPlane) -> client_library.OpenAI:
    plane = server.dataplane
    return client_library.OpenAI(
        base_url=f"{plane.base_url}{plane.path_prefix}{server.prefix}/v1",
        api_key="kserve-conformance",  # the client requires one; KServe's runtimes do not check it
        default_headers={"Host": plane.host} if plane.host else None,
        timeout=plane.timeout_s,
        max_retries=0,
    )


def models(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    ids = [m.id for m in c.models.list()]
    assert server.model in ids, f"models.list() names {ids}, not {server.model!r}"
    return f"models {ids}"


def completion(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = body(server, "completions")
    answer = c.completions.create(model=doc["model"], prompt=doc["prompt"], max_tokens=doc["max_tokens"], temperature=0)
    assert isinstance(answer.choices[0].text, str), f"choices[0].text is {answer.choices[0].text!r}"
    return answer.choices[0].text


def chat(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = body(server, "chat")
    answer = c.chat.completions.create(
        model=doc["model"], messages=doc["messages"], max_tokens=doc["max_tokens"], temperature=0
    )
    content = answer.choices[0].message.content
    assert isinstance(content, str), f"choices[0].message.content is {content!r}"
    return content


def completion_stream(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = body(server, "completions")
    parts = [
        chunk.choices[0].text
        for chunk in c.completions.create(
            model=doc["model"], prompt=doc["prompt"], max_tokens=doc["max_tokens"], temperature=0, stream=True
        )
        if chunk.choices
    ]
    assert parts, "the client read no chunk with a choice"
    return "".join(parts)


def chat_stream(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = body(server, "chat")
    stream = c.chat.completions.create(
        model=doc["model"], messages=doc["messages"], max_tokens=doc["max_tokens"], temperature=0, stream=True
    )
    parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert parts, "the client read no chunk with a choice"
    return "".join(parts)


def unknown_model(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = body(server, "completions")
    with pytest.raises(client_library.NotFoundError) as raised:
        c.completions.create(model=UNKNOWN_MODEL, prompt=doc["prompt"], max_tokens=doc["max_tokens"], temperature=0)
    return f"NotFoundError: {raised.value}"


CALLS: dict[str, Callable[[client_library.OpenAI, OpenAIPlane], str]] = {
    "models": models,
    "completion": completion,
    "chat": chat,
    "completion-stream": completion_stream,
    "chat-stream": chat_stream,
    "unknown-model": unknown_model,
}
