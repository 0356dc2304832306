"""The official ``openai`` Python client reads every answer: what users call these endpoints with.

The raw-HTTP checks judge the bytes; this one judges whether the client a user actually runs
gets through: it lists models, completes, chats, streams both, and turns an unknown model into
``openai.NotFoundError``. A body the client cannot parse (or parses into the wrong types) fails
here even when a hand-written reader would cope. Quotes are from the OpenAI API reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import allure
import openai as client_library
import pytest

from kserve_conformance.checks.spec import conformance
from kserve_conformance.dataplane import openai_checks as oc
from kserve_conformance.dataplane.openai import OpenAIPlane

pytestmark = [pytest.mark.services(protocol="openai"), pytest.mark.usefixtures("kserve_openai_deviation")]
UNKNOWN = "kserve-conformance-no-such-model"


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
    doc = oc.body(server, "completions")
    answer = c.completions.create(model=doc["model"], prompt=doc["prompt"], max_tokens=doc["max_tokens"], temperature=0)
    assert isinstance(answer.choices[0].text, str), f"choices[0].text is {answer.choices[0].text!r}"
    return answer.choices[0].text


def chat(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = oc.body(server, "chat")
    answer = c.chat.completions.create(
        model=doc["model"], messages=doc["messages"], max_tokens=doc["max_tokens"], temperature=0
    )
    content = answer.choices[0].message.content
    assert isinstance(content, str), f"choices[0].message.content is {content!r}"
    return content


def completion_stream(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = oc.body(server, "completions")
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
    doc = oc.body(server, "chat")
    stream = c.chat.completions.create(
        model=doc["model"], messages=doc["messages"], max_tokens=doc["max_tokens"], temperature=0, stream=True
    )
    parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert parts, "the client read no chunk with a choice"
    return "".join(parts)


def unknown_model(c: client_library.OpenAI, server: OpenAIPlane) -> str:
    doc = oc.body(server, "completions")
    with pytest.raises(client_library.NotFoundError) as raised:
        c.completions.create(model=UNKNOWN, prompt=doc["prompt"], max_tokens=doc["max_tokens"], temperature=0)
    return f"NotFoundError: {raised.value}"


CALLS: dict[str, Callable[[client_library.OpenAI, OpenAIPlane], str]] = {
    "models": models,
    "completion": completion,
    "chat": chat,
    "completion-stream": completion_stream,
    "chat-stream": chat_stream,
    "unknown-model": unknown_model,
}


@pytest.mark.parametrize("call", list(CALLS))
@conformance(
    "ClientParses",
    "The official openai Python client parses the answer (the reference's SDK examples call these endpoints "
    'with it: "from openai import OpenAI"), and an unknown model raises its NotFoundError.',
    features=("openai",),
)
def test_client_parses(kserve_openai: OpenAIPlane, call: str) -> None:
    c = client_of(kserve_openai)
    with allure.step(f"openai client: {call}"):
        try:
            result: Any = CALLS[call](c, kserve_openai)
        except client_library.APIError as err:
            raise AssertionError(f"the openai client failed on {call}: {err.__class__.__name__}: {err}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise AssertionError(f"the openai client could not parse the {call} answer: {err!r}") from None
        allure.attach(str(result)[:2000], name=f"client {call}", attachment_type=allure.attachment_type.TEXT)
