"""A minimal HTTP/1.1 client for load: every body byte stamped when the socket gave it.

Both load workers use it (the classic one, ``attack.py``, and the LLM one, ``llm/worker.py``).
Why not aiohttp: measured against the known targets on this project's 2-core machine, aiohttp
spent ~0.7 ms of Python between "send this request" and the request reaching the socket (the raw
write: ~0.2 ms), and more again between the last byte and the awaiting task resuming; all of it
lands in the measured latency. Load needs little of a general client: one fixed request, built
once, a status line and headers, a chunked (or sized, or until-close) body. Here an
``asyncio.Protocol`` parses the answer inside ``data_received`` and hands each piece of body to
the caller with the time that callback ran: the earliest moment the event loop knew the bytes
had come, whatever parsing follows.

Keep-alive connections are pooled (one origin per pool); a connection whose answer was not read
to its end, or that says ``Connection: close``, is closed rather than reused. ``https`` works
through the standard ``ssl`` module's default context.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

OnBody = Callable[[int, bytes], None]  # (monotonic ns the bytes arrived, the bytes)


class Response:
    def __init__(self, on_body: OnBody, on_head: Callable[[Response], None]) -> None:
        loop = asyncio.get_running_loop()
        self.on_body, self.on_head = on_body, on_head
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.last_ns = 0  # monotonic ns of the read that brought the answer's latest bytes
        self.head: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    def fail(self, err: BaseException) -> None:
        for future in (self.head, self.done):
            if not future.done():
                future.set_exception(err)
                future.exception()  # retrieved: the caller may be waiting on only one of them


class StreamProtocol(asyncio.Protocol):
    """One connection: parses one answer at a time (HTTP/1.1 without pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self.buf = b""
        self.state = "idle"  # head | chunk-size | chunk-data | chunk-end | trailer | length | close | idle
        self.remaining = 0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but one in behaviour

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        r = self.response
        if r is None:
            return
        if self.state == "close" and exc is None:
            self._complete()
        else:
            r.fail(ConnectionError(f"connection lost mid-answer ({self.state}): {exc or 'closed by the server'}"))

    def start(self, request: bytes, on_body: OnBody, on_head: Callable[[Response], None]) -> Response:
        assert self.transport is not None
        self.response = Response(on_body, on_head)
        self.buf, self.state = b"", "head"
        self.transport.write(request)
        return self.response

    def data_received(self, data: bytes) -> None:
        at = time.monotonic_ns()
        if self.response is not None:
            self.response.last_ns = at
        self.buf += data
        try:
            self._parse(at)
        except ValueError as err:
            if self.response is not None:
                self.response.fail(ConnectionError(f"malformed HTTP answer: {err}"))
            self.state = "idle"
            if self.transport is not None:
                self.transport.close()

    def _parse(self, at: int) -> None:
        """Consume what the buffer holds; every branch returns when it needs more bytes."""
        r = self.response
        while r is not None:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                self._head(self.buf[:end].decode("latin-1"))
                self.buf = self.buf[end + 4 :]
            elif self.state == "chunk-size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                self.remaining = int(self.buf[:end].split(b";")[0].strip(), 16)
                self.buf = self.buf[end + 2 :]
                self.state = "chunk-data" if self.remaining else "trailer"
            elif self.state in ("chunk-data", "length"):
                if not self.buf and self.remaining:
                    return
                piece, self.buf = self.buf[: self.remaining], self.buf[self.remaining :]
                self.remaining -= len(piece)
                if piece:
                    r.on_body(at, piece)
                if self.remaining == 0:
                    if self.state == "length":
                        self._complete()
                        return
                    self.state = "chunk-end"
            elif self.state == "chunk-end":
                if len(self.buf) < 2:
                    return
                if self.buf[:2] != b"\r\n":
                    raise ValueError(f"chunk not followed by CRLF: {self.buf[:8]!r}")
                self.buf = self.buf[2:]
                self.state = "chunk-size"
            elif self.state == "trailer":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                line, self.buf = self.buf[:end], self.buf[end + 2 :]
                if not line:
                    self._complete()
                    return
            elif self.state == "close":
                if not self.buf:
                    return
                piece, self.buf = self.buf, b""
                r.on_body(at, piece)
            else:
                return

    def _head(self, text: str) -> None:
        assert self.response is not None
        r = self.response
        status_line, *lines = text.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"bad status line {status_line[:80]!r}")
        r.status, r.reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        for line in lines:
            name, _, value = line.partition(":")
            r.headers[name.strip().lower()] = value.strip()
        if "chunked" in r.headers.get("transfer-encoding", "").lower():
            self.state = "chunk-size"
        elif "content-length" in r.headers:
            self.remaining = int(r.headers["content-length"])
            self.state = "length"
        else:
            self.state = "close"
        r.on_head(r)  # now, before any body byte is handed on (they may be in this very read)
        r.head.set_result(None)
        if self.state == "length" and self.remaining == 0:
            self._complete()

    def _complete(self) -> None:
        r, self.response, self.state = self.response, None, "idle"
        if r is not None and not r.done.done():
            r.done.set_result(None)
        if r is not None and not r.keep_alive and self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections to one origin, for one fixed request sent many times."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        names = {k.lower() for k in headers}
        fixed = {} if "host" in names else {"Host": parts.netloc}
        self.header_block = "".join(f"{k}: {v}\r\n" for k, v in {**fixed, **headers}.items())
        self.ssl = ssl.create_default_context() if self.tls else None
        self.idle: list[StreamProtocol] = []

    def request_bytes(self, body: bytes, method: str = "POST") -> bytes:
        head = f"{method} {self.path} HTTP/1.1\r\n{self.header_block}Content-Length: {len(body)}\r\n\r\n"
        return head.encode("latin-1") + body

    async def _connection(self) -> StreamProtocol:
        while self.idle:
            proto = self.idle.pop()
            if not proto.lost:
                return proto
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(
            StreamProtocol, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.tls else None
        )
        return proto

    async def post(self, request: bytes, on_body: OnBody, on_head: Callable[[Response], None]) -> Response:
        """Send one request; ``on_head`` runs as the status and headers are parsed, before any body
        byte reaches ``on_body``; returns at the body's end.

        The connection goes back to the pool only when the answer was read to its end.
        """
        proto = await self._connection()
        try:
            response = proto.start(request, on_body, on_head)
            await response.done
        except BaseException:
            if proto.transport is not None:
                proto.transport.close()
            raise
        if response.keep_alive and not proto.lost:
            self.idle.append(proto)
        return response

    def close(self) -> None:
        for proto in self.idle:
            if proto.transport is not None:
                proto.transport.close()
        self.idle.clear()
