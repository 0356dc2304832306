"""Evidence for the report: what was sent and received, attached to the Allure step that did it."""

from __future__ import annotations

import json

import allure

from kserve_conformance.dataplane import Exchange


def attach_text(name: str, text: str) -> None:
    kind = allure.attachment_type.YAML if name.endswith(".yaml") else allure.attachment_type.TEXT
    allure.attach(text, name=name, attachment_type=kind)


def _body(raw: bytes) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw.decode(errors="replace")


def attach_exchange(exchange: Exchange) -> None:
    request = "\n".join([f"{exchange.method} {exchange.url}",
                         *(f"{k}: {v}" for k, v in exchange.headers.items()), "", _body(exchange.body)])
    response = "\n".join([f"HTTP {exchange.status} ({exchange.elapsed_s * 1000:.1f} ms)",
                          *(f"{k}: {v}" for k, v in exchange.response_headers.items()), "",
                          _body(exchange.response_body)])
    attach_text("request", request)
    attach_text("response", response)
