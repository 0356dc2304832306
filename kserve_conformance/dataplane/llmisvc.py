"""Reaching an LLMInferenceService's URLs, and reading the completions they answer.

An LLMInferenceService's URLs (``status.url``, ``status.addresses[].url``) are its Gateway's
addresses with a path (``/<namespace>/<name>``) or none (model routing). The walk-through reaches
them from outside as they are "if you have external LB", else through a port-forward to the
Gateway's Service with the path alone. The suite does the same: a URL whose host answers a TCP
connect from here (or all of them, with ``--kserve-resolvable-domain``) is requested as it is;
so is one whose host refuses the connection (a host answered: nothing listens on that port, so
the URL as written does not serve, and going round it would hide that); otherwise (no route, no
answer, a name that does not resolve here) through the ingress the suite found (the Gateway's
address or its own port-forward, ``cluster/ingress.py``), with the URL's host in the Host
header, as for InferenceServices.

A model-routing address (``...-model-routing``) answers only with the model-routing header
naming the model (KServe's e2e sends ``X-Gateway-Model-Name``); its requests carry it.
"""

from __future__ import annotations

import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

from kserve_conformance.dataplane import openai
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.dataplane.rest import DataPlane, Exchange

COMPLETIONS = "/v1/completions"


@dataclass(frozen=True)
class Route:
    """Where the requests for one URL go: its own host, or the ingress with the URL's host as Host."""

    url: str
    base_url: str
    host: str | None
    path: str  # the URL's path, without a trailing slash

    def describe(self) -> str:
        return self.url if self.host is None else f"{self.url} (through the ingress {self.base_url}, Host {self.host})"


def reachable(url: str, timeout_s: float) -> bool:
    """Whether the URL's host answers a TCP connect from here within ``timeout_s``, accepting or
    refusing it; False when there is no answer, no route or no such name from here."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def route_to(url: str, ingress_base: str, direct: bool) -> Route:
    """``direct``: request the URL as it is; else the ingress, with the URL's host in the Host header."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if direct:
        return Route(url, f"{parts.scheme}://{parts.netloc}", None, path)
    return Route(url, ingress_base.rstrip("/"), parts.netloc, path)


def plane(
    route: Route, model: str, timeout_s: float, headers: dict[str, str] | None = None, retries: int = 3
) -> OpenAIPlane:
    """The OpenAI API under ``route`` (vLLM serves it at the root: no prefix), asking for ``model``."""
    dataplane = DataPlane(route.base_url, route.host, route.path, timeout_s, retries, headers=dict(headers or {}))
    return OpenAIPlane(dataplane, "", model)


def serves(exchange: Exchange) -> bool:
    """A 2xx whose JSON carries at least one choice: a completion was answered."""
    if not 200 <= exchange.status < 300:
        return False
    doc, problem = openai.body_json(exchange)
    return problem is None and isinstance(doc, dict) and bool(doc.get("choices"))


def completion_problems(exchange: Exchange, model: str) -> list[str]:
    """Why ``exchange`` is not a completion of ``model`` as the OpenAI reference defines one; empty when it is."""
    if not 200 <= exchange.status < 300:
        return [f"expected a completion, got {exchange.describe()}"]
    doc, problem = openai.body_json(exchange)
    if problem is not None:
        return [f"{exchange.method} {exchange.url} answered {problem}"]
    problems = [f"not a CreateCompletionResponse: {p}" for p in openai.schema_problems(doc, "CreateCompletionResponse")]
    if isinstance(doc, dict):
        if doc.get("object") != "text_completion":
            problems.append(f"object is {doc.get('object')!r}, not 'text_completion'")
        if not doc.get("choices"):
            problems.append("the answer has no choices")
        if not openai.names_model(model, doc.get("model")):
            problems.append(f"requested model {model!r}, the answer names {doc.get('model')!r}")
    return problems


def completion_body(model: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, **params}
