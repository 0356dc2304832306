"""A fake OpenAI-compatible server whose model answers every prompt with one fixed shape.

The openai checks take their probes from the model's own answers (a stop string from the
temperature-0 text, a cut at ``max_tokens``, arrival times of content events), so an answer's
*shape* can leave a check with nothing to probe. Real tiny models answer that way: repeating one
token (``' and and and'``, ``'::::'``) or nothing at all. This server gives the suite exactly
those answers and is otherwise a correct server, so every verdict against it is about the check:

* the model ``token``: each generated token is that text, ``max_tokens`` of them (finish_reason
  ``"length"``); ``token=""`` is a model whose first token is its end (empty text, ``"stop"``,
  0 completion tokens);
* ``stop`` is matched on the text at its first occurrence, as vLLM does: the text before it,
  ``"stop"``, and the token that completed it counted in usage;
* streams are server-sent events, one content event per token (``token_delay_s`` apart, so
  arrival times show incremental delivery), a chat stream's first delta carrying the role, the
  last chunk of a choice its finish_reason, the ``include_usage`` chunk with ``choices: []``, and
  ``data: [DONE]``;
* ``GET /v1/models`` and ``/v1/models/{model}``, 404 with the error object for another model, 400
  with it for what the reference rules out (``max_tokens`` below 0, a temperature outside 0-2, a
  missing prompt or messages, a body that is not JSON).

``ignore_stop`` breaks one rule (the stop string is not honoured) for the stop check's control.
It runs in a thread of the test's own process on a free loopback port: ``with FakeOpenAI(...) as
server: server.url``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATION = {"/v1/completions": "completions", "/v1/chat/completions": "chat"}


@dataclass(frozen=True)
class Model:
    name: str
    token: str  # the text of every token it generates; "" ends at once
    ignore_stop: bool = False
    token_delay_s: float = 0.005  # between a stream's content events


@dataclass(frozen=True)
class Generation:
    text: str
    pieces: tuple[str, ...]  # the text as the stream sends it, one piece per token
    finish_reason: str
    completion_tokens: int


def generate(model: Model, max_tokens: int, stops: list[str]) -> Generation:
    """Token by token; a stop string ends the text at its first occurrence (vLLM's rule)."""
    if not model.token:
        return Generation("", (), "stop", 0)
    text = ""
    for n in range(1, max_tokens + 1):
        text += model.token
        hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
        if hits and not model.ignore_stop:
            return Generation(text[: min(hits)], pieces(text[: min(hits)], model.token), "stop", n)
    return Generation(text, pieces(text, model.token), "length", max_tokens)


def pieces(text: str, token: str) -> tuple[str, ...]:
    """The text a token at a time (the last piece cut short by a stop string): what a stream sends."""
    return tuple(text[i : i + len(token)] for i in range(0, len(text), len(token)))


def error(message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the suite's report has every exchange

    def send_json(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        model = self.server.model.name
        entry = {"id": model, "object": "model", "created": 0, "owned_by": "fake"}
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [entry]})
        elif self.path == f"/v1/models/{model}":
            self.send_json(200, entry)
        elif self.path.startswith("/v1/models/"):
            self.send_json(404, error(f"The model {self.path.removeprefix('/v1/models/')} does not exist.", "model"))
        else:
            self.send_json(404, error(f"no route {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = GENERATION.get(self.path)
        if kind is None:
            self.send_json(404, error(f"no route {self.path}"))
            return
        try:
            doc = json.loads(raw)
        except ValueError:
            self.send_json(400, error("the body is not JSON"))
            return
        refusal = self.refusal(kind, doc)
        if refusal is not None:
            self.send_json(*refusal)
            return
        stop = doc.get("stop")
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        max_tokens = doc.get("max_tokens")
        result = generate(self.server.model, 16 if max_tokens is None else int(max_tokens), stops)
        prompt_tokens = len(json.dumps(doc.get("prompt") or doc.get("messages")).split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "total_tokens": prompt_tokens + result.completion_tokens,
        }
        if doc.get("stream"):
            include_usage = bool((doc.get("stream_options") or {}).get("include_usage"))
            self.stream(kind, doc["model"], result, usage if include_usage else None)
        else:
            self.send_json(200, answer(kind, doc["model"], result, usage))

    def refusal(self, kind: str, doc: Any) -> tuple[int, dict[str, Any]] | None:
        if not isinstance(doc, dict):
            return 400, error("the body is not a JSON object")
        if doc.get("model") != self.server.model.name:
            return 404, error(f"The model {doc.get('model')} does not exist.", "model")
        max_tokens = doc.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 0):
            return 400, error("max_tokens must be an integer of at least 0", "max_tokens")
        temperature = doc.get("temperature")
        if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
            return 400, error("temperature must be between 0 and 2", "temperature")
        field = "prompt" if kind == "completions" else "messages"
        if doc.get(field) is None:
            return 400, error(f"{field} is required", field)
        return None

    def stream(self, kind: str, model: str, result: Generation, usage: dict[str, int] | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ident, created = f"{'cmpl' if kind == 'completions' else 'chatcmpl'}-{uuid.uuid4().hex}", int(time.time())

        def send(doc: Any) -> None:
            data = f"data: {doc if isinstance(doc, str) else json.dumps(doc)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            obj = "text_completion" if kind == "completions" else "chat.completion.chunk"
            return {"id": ident, "object": obj, "created": created, "model": model, "choices": choices, **extra}

        def choice(text: str | None, finish: str | None, role: bool = False) -> dict[str, Any]:
            if kind == "completions":
                return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
            delta: dict[str, Any] = {"role": "assistant"} if role else {}
            if text is not None:
                delta["content"] = text
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

        if kind == "chat":
            send(chunk([choice("", None, role=True)]))
        for piece in result.pieces:
            time.sleep(self.server.model.token_delay_s)  # the time the token takes to generate
            send(chunk([choice(piece, None)]))
        send(chunk([choice(None if kind == "chat" else "", result.finish_reason)]))
        if usage is not None:
            send(chunk([], usage=usage))
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def answer(kind: str, model: str, result: Generation, usage: dict[str, int]) -> dict[str, Any]:
    ident, created = f"{'cmpl' if kind == 'completions' else 'chatcmpl'}-{uuid.uuid4().hex}", int(time.time())
    if kind == "completions":
        choice: dict[str, Any] = {"index": 0, "text": result.text, "logprobs": None}
        obj = "text_completion"
    else:
        message = {"role": "assistant", "content": result.text, "refusal": None}
        choice, obj = {"index": 0, "message": message, "logprobs": None}, "chat.completion"
    choice["finish_reason"] = result.finish_reason
    return {"id": ident, "object": obj, "created": created, "model": model, "choices": [choice], "usage": usage}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, model: Model) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.model = model


class FakeOpenAI:
    """The server in a thread of this process, for the duration of a ``with`` block."""

    def __init__(self, model: Model) -> None:
        self.server = Server(model)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-openai", daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
