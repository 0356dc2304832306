"""gRPC through the local ingress gateway: HTTP/2 cleartext routed by ``:authority``, as Istio does.

KServe's gRPC clients reach a predictor through the same ingress address as REST, with the
service's host as the HTTP/2 ``:authority`` (``grpc.default_authority``, or ``ssl_target_name``
for TLS). The gateway's HTTP/1.1 server (aiohttp) cannot carry that, so its listening socket
sniffs each new connection: one that starts with the HTTP/2 connection preface is read up to its
first HEADERS frame, whose ``:authority`` (HPACK-decoded with ``hpack``) picks the predictor's
gRPC port, and from then on the bytes are spliced both ways unchanged. A gRPC client sends no
request before the server's SETTINGS, so the gateway sends an empty SETTINGS frame itself and
removes the client's acknowledgement of it from the stream (the model server's own SETTINGS
follow, and are acknowledged by the client as usual); anything else is handed to
aiohttp as if it had accepted the connection itself. Routing is per connection, which is what a
gRPC channel is: one authority for its life. As on Knative, only a predictor whose spec declares
a port named ``h2c`` is reachable over gRPC through the ingress.

Own code because no library does this part: HTTP/2 proxies for Python (hypercorn, h2-based
servers) terminate the stream and would have to re-encode gRPC's trailers; splicing after the
first header block keeps the model server's own framing, status and trailers intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from hpack import Decoder

log = logging.getLogger(__name__)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, SETTINGS, CONTINUATION = 0x1, 0x4, 0x9
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
END_HEADERS, PADDED, PRIORITY = 0x4, 0x8, 0x20
MAX_SNIFF = 1 << 20  # a client that sends a megabyte without a header block is not a gRPC client


def first_authority(data: bytes) -> str | bool | None:
    """The ``:authority`` of the first header block after the preface.

    ``None`` while more bytes are needed, ``False`` if the connection carries no authority.
    """
    pos, block = len(PREFACE), b""
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos : pos + 3], "big")
        kind, flags = data[pos + 3], data[pos + 4]
        payload = data[pos + 9 : pos + 9 + length]
        if len(payload) < length:
            return None
        pos += 9 + length
        if kind == HEADERS:
            start, end = 0, len(payload)
            if flags & PADDED:
                start, end = 1, len(payload) - payload[0]
            if flags & PRIORITY:
                start += 5
            block = payload[start:end]
        elif kind == CONTINUATION and block:
            block += payload
        else:
            continue
        if flags & END_HEADERS:
            headers = {
                k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                for k, v in Decoder().decode(block, raw=True)
            }
            return headers.get(":authority") or headers.get("host") or False
    return None


def without_first_settings_ack(data: bytes) -> bytes | None:
    """``data`` without the client's first SETTINGS acknowledgement; ``None`` until it has arrived."""
    pos = len(PREFACE)
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos : pos + 3], "big")
        if data[pos : pos + 9] == SETTINGS_ACK:
            return data[:pos] + data[pos + 9 :]
        pos += 9 + length
    return None


class _Pipe(asyncio.Protocol):
    """The upstream half of a spliced connection."""

    def __init__(self, downstream: asyncio.Transport) -> None:
        self.downstream = downstream

    def data_received(self, data: bytes) -> None:
        self.downstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.downstream.close()


class Sniffer(asyncio.Protocol):
    """Decides, from the first bytes, whether a connection is h2c (gRPC) or HTTP/1.1 (aiohttp)."""

    def __init__(self, http1: Callable[[], asyncio.Protocol], grpc_port: Callable[[str], int | None]) -> None:
        self._http1, self._grpc_port = http1, grpc_port
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._upstream: asyncio.Transport | None = None
        self._h2 = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        if self._upstream is not None:
            self._upstream.write(data)
            return
        self._buffer += data
        if not self._h2:
            if len(self._buffer) < len(PREFACE) and PREFACE.startswith(self._buffer):
                return  # could still be the preface
            if not self._buffer.startswith(PREFACE):
                self._hand_to_http1()
                return
            self._h2 = True
            self._transport.write(EMPTY_SETTINGS)
        authority = first_authority(self._buffer)
        forward = without_first_settings_ack(self._buffer)
        if (authority is None or forward is None) and len(self._buffer) < MAX_SNIFF:
            return
        self._buffer = forward or self._buffer
        host = authority.split(":")[0].lower() if isinstance(authority, str) else ""
        port = self._grpc_port(host) if host else None
        if port is None:
            log.info("h2c connection for unknown authority %r closed", authority)
            self._transport.close()
            return
        self._transport.pause_reading()
        asyncio.get_running_loop().create_task(self._connect(port))

    async def _connect(self, port: int) -> None:
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        try:
            upstream, _ = await loop.create_connection(lambda: _Pipe(transport), "127.0.0.1", port)
        except OSError:
            transport.close()  # the client sees UNAVAILABLE, as from an Envoy with no healthy upstream
            return
        self._upstream = upstream
        upstream.write(self._buffer)
        self._buffer = b""
        transport.resume_reading()

    def _hand_to_http1(self) -> None:
        assert self._transport is not None
        inner = self._http1()
        self._transport.set_protocol(inner)
        inner.connection_made(self._transport)
        inner.data_received(self._buffer)
        self._buffer = b""

    def connection_lost(self, exc: Exception | None) -> None:
        if self._upstream is not None:
            with contextlib.suppress(Exception):
                self._upstream.close()
