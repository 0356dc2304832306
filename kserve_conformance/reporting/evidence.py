"""Evidence for the report: what was sent and received, attached to the Allure step that did it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import allure
import pytest

from kserve_conformance.dataplane.openai import StreamExchange
from kserve_conformance.dataplane.rest import Exchange
from kserve_conformance.reporting.report import FIGURE_PREFIX


def attach_text(name: str, text: str) -> None:
    kind = allure.attachment_type.YAML if name.endswith(".yaml") else allure.attachment_type.TEXT
    allure.attach(text, name=name, attachment_type=kind)


def _body(raw: bytes) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw.decode(errors="replace")


def attach_exchange(exchange: Exchange) -> None:
    request = "\n".join(
        [
            f"{exchange.method} {exchange.url}",
            *(f"{k}: {v}" for k, v in exchange.headers.items()),
            "",
            _body(exchange.body),
        ]
    )
    response = "\n".join(
        [
            f"HTTP {exchange.status} ({exchange.elapsed_s * 1000:.1f} ms)",
            *(f"{k}: {v}" for k, v in exchange.response_headers.items()),
            "",
            _body(exchange.response_body),
        ]
    )
    attach_text("request", request)
    attach_text("response", response)


def figure(item: pytest.Item, name: str, seconds: float) -> None:
    """A measured time: an Allure attachment, a JUnit property (``kserve-conformance.figure.NAME``) and
    the report's figures. Written to the item's properties as the plugin writes the check's name
    (``record_property`` warns under the xunit2 JUnit family the suite writes)."""
    item.user_properties.append((f"{FIGURE_PREFIX}{name}", f"{seconds:.3f}"))
    allure.attach(f"{name}: {seconds:.3f} s", name=f"figure {name}", attachment_type=allure.attachment_type.TEXT)


def counts_property(item: pytest.Item, name: str, counts: Mapping[str, int]) -> None:
    """Exact counts as a JUnit property and an Allure attachment."""
    text = json.dumps(dict(sorted(counts.items())))
    item.user_properties.append((f"kserve-conformance.counts.{name}", text))
    allure.attach(text, name=f"counts {name}", attachment_type=allure.attachment_type.JSON)


def attach_stream(exchange: StreamExchange) -> None:
    """A streamed answer as it arrived: each event with its arrival time, then the raw bytes."""
    stream = exchange.stream
    request = "\n".join(
        [
            f"{exchange.method} {exchange.url}",
            *(f"{k}: {v}" for k, v in exchange.headers.items()),
            "",
            _body(exchange.body),
        ]
    )
    events = [
        f"+{event.at_s * 1000:9.1f} ms  "
        + " ".join(f"{name or '(comment)'}: {value}" for name, value in event.fields)
        + ("  " if event.fields else "")
        + f"data: {event.data}"
        for event in stream.events
    ]
    first = f"{stream.first_byte_s * 1000:.1f} ms" if stream.first_byte_s is not None else "none"
    response = "\n".join(
        [
            f"HTTP {stream.status} (first byte {first}, end {stream.end_s * 1000:.1f} ms)",
            *(f"{k}: {v}" for k, v in stream.headers.items()),
            "",
            *events,
            *([f"(undispatched at the end: {stream.trailing})"] if stream.trailing else []),
        ]
    )
    attach_text("request", request)
    attach_text("events", response)
    attach_text("raw stream", stream.raw.decode(errors="replace"))


def measured_text(item: pytest.Item, name: str, text: str) -> None:
    """What a check measured, in words (every attempt of a repeated measurement): a JUnit property
    (``kserve-conformance.text.NAME``) and an Allure attachment."""
    item.user_properties.append((f"kserve-conformance.text.{name}", text))
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_llm_load(files: dict[str, Path], name: str) -> None:
    """An LLM load run's plots and summary, named ``name``."""
    allure.attach.file(files["llm-load.png"], name=f"{name} plots", attachment_type=allure.attachment_type.PNG)
    allure.attach.file(files["summary.json"], name=f"{name} summary", attachment_type=allure.attachment_type.JSON)
