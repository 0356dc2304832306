"""A reverse proxy in front of a healthy OpenAI-compatible server that breaks named rules.

The openai checks' negative controls run the suite in data-plane mode against this proxy. It
serves the OpenAI API at the root, forwards to the upstream under its prefix, and then applies
each defect named on its command line (``DEFECTS``), one rule each, so a check can be shown to
fail for exactly its own reason.

**Repairs first.** A real upstream has known deviations of its own (KServe's OpenAI layer answers
an unknown model with ``{"error": "<string>"}``, lets ``max_tokens: -1`` through, has no
``GET /v1/models/{model}``; vLLM's ``error.code`` is an integer). A control on such a check would
prove nothing, since the check fails without the defect. So before any defect the proxy makes the
upstream conformant where that is cheap: it refuses requests the reference rules out with 400 and
the error object, rewraps every error body as the error object, serves ``GET /v1/models/{model}``
from the model list, and hides the server's identity (``/v2``, ``/version``) so no known deviation
is applied. The healthy control (no defect) shows the repaired proxy passes.

Usage: ``python broken_openai.py UPSTREAM_URL PREFIX MODEL PORT_FILE [DEFECT ...]``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

DEFECTS = {
    "no-done": "drop the data: [DONE] event",
    "changing-ids": "give every stream chunk an id of its own",
    "finish-every-chunk": "set finish_reason on every stream chunk",
    "buffer-stream": "hold the whole stream back and send it in one piece at the end",
    "wrong-model": "name another model in every answer and chunk",
    "random-text": "append random characters to every non-streamed text",
    "drop-usage-chunk": "drop the include_usage chunk",
    "non-data-lines": "send event: and comment lines in the stream",
    "wrong-content-type": "serve streams as text/plain",
    "unknown-model-200": "answer a request for an unknown model with the served model",
    "error-as-string": 'error bodies as {"error": "<message>"}',
    "usage-off-by-one": "usage.total_tokens one more than prompt + completion",
    "ignore-max-tokens": "raise every max_tokens below 16 to 16",
    "include-stop": "leave the stop string in the text",
    "unparseable-chunk": "truncate the JSON of the second stream chunk",
    "bad-request-500": "answer the client's bad requests with 500",
    "wrong-object": 'object "completion" in non-streamed completions',
    "wrong-chunk-object": 'object "chat.completion" in chat stream chunks',
    "stream-text-differs": "upper-case the streamed text",
    "no-role": "drop role from chat deltas",
    "model-list-wrong": 'model objects without "created" and with object "engine"',
    "retrieve-wrong-id": "GET /v1/models/{model} names another model",
}
OTHER = "other-model"
GENERATION = {"/v1/completions": "completions", "/v1/chat/completions": "chat"}


def error(status: int, message: str, param: str | None = None) -> web.Response:
    doc = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return web.json_response(doc, status=status)


class Proxy:
    def __init__(self, upstream: str, prefix: str, model: str, defects: set[str]) -> None:
        unknown = defects - set(DEFECTS)
        if unknown:
            raise SystemExit(f"unknown defects {sorted(unknown)}; known: {sorted(DEFECTS)}")
        self.upstream, self.prefix, self.model, self.defects = upstream.rstrip("/"), prefix, model, defects
        self.session: aiohttp.ClientSession | None = None

    def has(self, defect: str) -> bool:
        return defect in self.defects

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/v2", "/version"):
            return web.json_response({"detail": "hidden by the control proxy"}, status=404)
        if request.method == "GET" and path.startswith("/v1/models/"):
            return await self.retrieve(path.removeprefix("/v1/models/"))
        if request.method == "GET" and path == "/v1/models":
            return await self.models()
        if request.method == "POST" and path in GENERATION:
            return await self.generate(request, GENERATION[path])
        return error(404, f"no route {path}")

    async def fetch(self, method: str, path: str, doc: Any = None) -> tuple[int, Any]:
        assert self.session is not None
        async with self.session.request(method, f"{self.upstream}{self.prefix}{path}", json=doc) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text

    async def models(self) -> web.Response:
        status, doc = await self.fetch("GET", "/v1/models")
        if status == 200 and isinstance(doc, dict) and self.has("model-list-wrong"):
            doc["data"] = [{k: v for k, v in m.items() if k != "created"} | {"object": "engine"} for m in doc["data"]]
        return web.json_response(doc, status=status)

    async def retrieve(self, model: str) -> web.Response:
        _, doc = await self.fetch("GET", "/v1/models")
        found = [m for m in (doc.get("data") or []) if m.get("id") == model] if isinstance(doc, dict) else []
        if not found:
            return error(404, f"The model {model} does not exist.", "model")
        entry = {"id": found[0]["id"], "object": "model", "created": found[0].get("created") or 0, "owned_by": "x"}
        if self.has("retrieve-wrong-id"):
            entry["id"] = OTHER
        return web.json_response(entry)

    def refusal(self, kind: str, doc: Any) -> web.Response | None:
        """The repair: refuse what the reference rules out, as the reference says a refusal looks."""
        if not isinstance(doc, dict):
            return error(400, "the body is not a JSON object")
        if doc.get("model") != self.model and not self.has("unknown-model-200"):
            return error(404, f"The model {doc.get('model')} does not exist.", "model")
        max_tokens = doc.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens < 0:
            return error(400, "max_tokens must be at least 0", "max_tokens")
        temperature = doc.get("temperature")
        if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
            return error(400, "temperature must be between 0 and 2", "temperature")
        field = "prompt" if kind == "completions" else "messages"
        if doc.get(field) is None:
            return error(400, f"{field} is required", field)
        return None

    async def generate(self, request: web.Request, kind: str) -> web.StreamResponse:
        raw = await request.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.broken_error(error(400, "the body is not JSON"))
        refused = self.refusal(kind, doc)
        if refused is not None:
            return self.broken_error(refused)
        doc = self.broken_request(doc)
        stop = doc.pop("stop", None) if self.has("include-stop") else None
        if doc.get("stream"):
            return await self.stream(request, kind, doc)
        status, answer = await self.fetch(
            "POST", f"/v1/{'completions' if kind == 'completions' else 'chat/completions'}", doc
        )
        if status >= 400:
            return self.broken_error(self.rewrapped(status, answer))
        return web.json_response(self.broken_answer(kind, answer, stop), status=status)

    def rewrapped(self, status: int, answer: Any) -> web.Response:
        """The repair of an upstream error body: the reference's error object, code a string."""
        inner = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(inner, dict):
            message = str(inner.get("message", ""))
        else:
            message = str(inner if inner is not None else answer)[:500]
        return error(status, message)

    def broken_error(self, response: web.Response) -> web.Response:
        status = response.status
        doc = json.loads(response.body) if isinstance(response.body, bytes) else {}
        if self.has("bad-request-500") and 400 <= status < 500 and status != 404:
            status = 500
        if self.has("error-as-string"):
            doc = {"error": doc["error"]["message"]}
        return web.json_response(doc, status=status)

    def broken_request(self, doc: dict[str, Any]) -> dict[str, Any]:
        if doc.get("model") != self.model and self.has("unknown-model-200"):
            doc = {**doc, "model": self.model}
        if self.has("ignore-max-tokens") and isinstance(doc.get("max_tokens"), int) and doc["max_tokens"] < 16:
            doc = {**doc, "max_tokens": 16}
        return doc

    def broken_answer(self, kind: str, answer: Any, stop: Any) -> Any:
        if not isinstance(answer, dict):
            return answer
        if self.has("wrong-model"):
            answer["model"] = OTHER
        if self.has("wrong-object") and kind == "completions":
            answer["object"] = "completion"
        if self.has("usage-off-by-one") and isinstance(answer.get("usage"), dict):
            answer["usage"]["total_tokens"] += 1
        for choice in answer.get("choices") or []:
            holder, key = (choice, "text") if kind == "completions" else (choice.get("message") or {}, "content")
            text = holder.get(key)
            if not isinstance(text, str):
                continue
            if self.has("random-text"):
                holder[key] = text + "".join(random.choice("abcdefghij") for _ in range(6))
            if stop:
                for s in stop if isinstance(stop, list) else [stop]:
                    at = text.find(s)
                    if at >= 0:
                        holder[key] = text[: at + len(s)]
                        choice["finish_reason"] = "stop"
                        break
        return answer

    async def stream(self, request: web.Request, kind: str, doc: dict[str, Any]) -> web.StreamResponse:
        assert self.session is not None
        path = "/v1/completions" if kind == "completions" else "/v1/chat/completions"
        async with self.session.post(f"{self.upstream}{self.prefix}{path}", json=doc) as upstream:
            if upstream.status >= 400:
                text = await upstream.text()
                try:
                    body: Any = json.loads(text)
                except ValueError:
                    body = text
                return self.broken_error(self.rewrapped(upstream.status, body))
            response = web.StreamResponse(status=upstream.status)
            kind_header = "text/plain" if self.has("wrong-content-type") else "text/event-stream"
            response.headers["Content-Type"] = kind_header
            response.headers["Cache-Control"] = "no-cache"
            await response.prepare(request)
            held: list[bytes] = []
            index = 0
            data: list[str] = []
            async for raw_line in upstream.content:
                line = raw_line.decode().rstrip("\r\n")
                if line:
                    if line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                    continue
                if not data:
                    continue
                out = self.broken_event("\n".join(data), kind, index)
                data = []
                index += 1
                if out is None:
                    continue
                if self.has("buffer-stream"):
                    held.append(out)
                else:
                    await response.write(out)
            if held:
                await response.write(b"".join(held))
            await response.write_eof()
            return response

    def broken_event(self, data: str, kind: str, index: int) -> bytes | None:
        """One upstream event as this proxy sends it (``None``: dropped)."""
        if data == "[DONE]":
            return None if self.has("no-done") else b"data: [DONE]\n\n"
        chunk = json.loads(data)
        if self.has("drop-usage-chunk") and not chunk.get("choices") and chunk.get("usage"):
            return None
        if self.has("changing-ids"):
            chunk["id"] = f"{chunk.get('id')}-{index}"
        if self.has("wrong-model"):
            chunk["model"] = OTHER
        if self.has("wrong-chunk-object") and kind == "chat":
            chunk["object"] = "chat.completion"
        if self.has("usage-off-by-one") and isinstance(chunk.get("usage"), dict):
            chunk["usage"]["total_tokens"] += 1
        for choice in chunk.get("choices") or []:
            if self.has("finish-every-chunk"):
                choice["finish_reason"] = choice.get("finish_reason") or "length"
            holder, key = (choice, "text") if kind == "completions" else (choice.get("delta") or {}, "content")
            if self.has("stream-text-differs") and isinstance(holder.get(key), str):
                holder[key] = holder[key].upper()
            if self.has("no-role") and kind == "chat":
                (choice.get("delta") or {}).pop("role", None)
        text = json.dumps(chunk)
        if self.has("unparseable-chunk") and index == 1:
            text = text[: len(text) // 2]
        prefix = "event: message\n: keep-alive\n" if self.has("non-data-lines") else ""
        return f"{prefix}data: {text}\n\n".encode()


async def serve(proxy: Proxy, port_file: Path) -> None:
    proxy.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    port_file.write_text(str(port))
    await asyncio.Event().wait()


def main() -> None:
    upstream, prefix, model, port_file, *defects = sys.argv[1:]
    asyncio.run(serve(Proxy(upstream, prefix, model, set(defects)), Path(port_file)))


if __name__ == "__main__":
    main()
