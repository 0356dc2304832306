"""The openai checks' requests, each made as an Allure step with its request and answer attached.

What the request is (``body``) and how an answer is read (``ok_json``, ``text_of``) is the data
plane's (``dataplane/openai_checks.py``); attaching evidence is this layer's, so the stepped calls
live here and a check's report shows every exchange it judged.
"""

from __future__ import annotations

import json
from typing import Any

import allure

from kserve_conformance.dataplane.openai import OpenAIPlane, StreamExchange
from kserve_conformance.dataplane.openai_checks import ENDPOINTS, body, ok_json
from kserve_conformance.dataplane.rest import Exchange
from kserve_conformance.reporting.evidence import attach_exchange, attach_stream


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


def answer(server: OpenAIPlane, kind: str, **params: Any) -> Any:
    """A successful non-streamed answer with one choice."""
    doc = ok_json(post(server, kind, body(server, kind, **params)))
    choices = doc.get("choices") if isinstance(doc, dict) else None
    assert isinstance(choices, list) and choices, f"the answer has no choices: {json.dumps(doc)[:300]}"
    return doc


def streamed(server: OpenAIPlane, kind: str, **params: Any) -> StreamExchange:
    """A successful stream of the payloads' request (``params`` as for ``body``)."""
    exchange = stream(server, kind, body(server, kind, **params))
    assert 200 <= exchange.stream.status < 300, (
        f"expected success, got {exchange.describe()}: {exchange.stream.raw[:300]!r}"
    )
    return exchange


def post_case(server: OpenAIPlane, case: dict[str, Any]) -> Exchange:
    """One error case of the payloads (a body the reference rules out, or raw bytes with ``"M"`` the model)."""
    if "raw" in case:
        return post_raw(server, case["endpoint"], case["raw"].replace('"M"', json.dumps(server.model)).encode())
    return post(server, case["endpoint"], body(server, case["endpoint"], **case["body"]))
