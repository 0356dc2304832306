"""``kubectl port-forward``: the pods' ``portforward`` subresource, SPDY/3.1 tunnelled over WebSocket.

kubectl (1.31+) opens a WebSocket with the subprotocol ``SPDY/3.1+portforward.k8s.io`` and runs a
SPDY/3.1 session inside its binary messages, as it would against a kubelet. Per forwarded
connection it opens two streams with the headers ``streamtype`` (``error`` or ``data``),
``port`` and ``requestid``; the server answers each with SYN_REPLY, connects to the pod's port
and copies bytes both ways, reporting a failure on the error stream. Every pod of the local
target runs on loopback, so the pod's port is a port on 127.0.0.1.

Why our own code: no maintained Python SPDY implementation exists (SPDY was superseded by
HTTP/2, but Kubernetes still speaks it). The subset here is what the port-forward protocol uses:
SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY and data frames; SETTINGS and WINDOW_UPDATE are
read and ignored (the client's spdystream does not enforce flow-control windows). The header
blocks are zlib streams primed with the dictionary of the SPDY/3 specification
(``data/spdy3-header-dictionary.bin``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from kserve_local.apiserver.store import ApiError

log = logging.getLogger(__name__)
PROTOCOL = "SPDY/3.1+portforward.k8s.io"
DICTIONARY = (Path(__file__).parent / "data" / "spdy3-header-dictionary.bin").read_bytes()
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
CHUNK = 32 * 1024


@dataclass
class Forward:
    """One forwarded connection: its error and data streams, and the TCP connection to the pod."""

    port: int
    error_stream: int | None = None
    data_stream: int | None = None
    writer: asyncio.StreamWriter | None = None
    pending: list[bytes] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class SpdySession:
    def __init__(self, ws: web.WebSocketResponse, host: str) -> None:
        self.ws, self.host = ws, host
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(zdict=DICTIONARY)
        self.forwards: dict[str, Forward] = {}
        self.by_stream: dict[int, Forward] = {}
        self.send_lock = asyncio.Lock()

    # --- frames ---------------------------------------------------------------------------
    async def _send(self, frame: bytes) -> None:
        async with self.send_lock:
            if not self.ws.closed:
                await self.ws.send_bytes(frame)

    async def control(self, kind: int, payload: bytes, flags: int = 0) -> None:
        await self._send(struct.pack(">HHI", 0x8003, kind, flags << 24 | len(payload)) + payload)

    async def data(self, stream: int, payload: bytes, fin: bool = False) -> None:
        await self._send(struct.pack(">II", stream, (FLAG_FIN if fin else 0) << 24 | len(payload)) + payload)

    def _headers(self, block: bytes) -> dict[str, str]:
        raw = self.inflate.decompress(block)
        count, pos, out = struct.unpack_from(">I", raw)[0], 4, {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", raw, pos)
            name = raw[pos + 4 : pos + 4 + n].decode()
            pos += 4 + n
            (n,) = struct.unpack_from(">I", raw, pos)
            out[name.lower()] = raw[pos + 4 : pos + 4 + n].decode()
            pos += 4 + n
        return out

    def _header_block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            raw += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    # --- session ----------------------------------------------------------------------------
    async def run(self) -> None:
        buffer = b""
        async for message in self.ws:
            if message.type != WSMsgType.BINARY:
                break
            buffer += message.data
            while len(buffer) >= 8:
                length = struct.unpack_from(">I", buffer, 4)[0] & 0xFFFFFF
                if len(buffer) < 8 + length:
                    break
                frame, buffer = buffer[: 8 + length], buffer[8 + length :]
                await self._frame(frame)
        for forward in self.forwards.values():
            self._close_pod(forward)

    async def _frame(self, frame: bytes) -> None:
        first, second = struct.unpack_from(">II", frame)
        flags, payload = second >> 24, frame[8:]
        if not first & 0x80000000:  # a data frame
            forward = self.by_stream.get(first & 0x7FFFFFFF)
            if forward is not None and forward.data_stream == first & 0x7FFFFFFF:
                await self._to_pod(forward, payload, fin=bool(flags & FLAG_FIN))
            return
        kind = first & 0xFFFF
        if kind == SYN_STREAM:
            stream = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            await self._open(stream, self._headers(payload[10:]))
        elif kind == PING:
            await self.control(PING, payload)
        elif kind == RST_STREAM:
            forward = self.by_stream.get(struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF)
            if forward is not None:
                self._close_pod(forward)
        elif kind == HEADERS:
            self._headers(payload[4:])  # keep the shared zlib stream in step
        elif kind == GOAWAY:
            await self.ws.close()

    async def _open(self, stream: int, headers: dict[str, str]) -> None:
        await self.control(SYN_REPLY, struct.pack(">I", stream) + self._header_block({}))
        port, request = headers.get("port", ""), headers.get("requestid", str(stream))
        forward = self.forwards.setdefault(request, Forward(int(port) if port.isdigit() else 0))
        self.by_stream[stream] = forward
        if headers.get("streamtype") == "error":
            forward.error_stream = stream
        else:
            forward.data_stream = stream
        if forward.error_stream is not None and forward.data_stream is not None and forward.task is None:
            forward.task = asyncio.get_running_loop().create_task(self._connect(forward))

    async def _connect(self, forward: Forward) -> None:
        assert forward.error_stream is not None
        assert forward.data_stream is not None
        try:
            reader, forward.writer = await asyncio.open_connection(self.host, forward.port)
        except OSError as err:
            message = f"error forwarding port {forward.port} to pod: {err}"
            await self.data(forward.error_stream, message.encode(), fin=True)
            await self.data(forward.data_stream, b"", fin=True)
            return
        for chunk in forward.pending:
            forward.writer.write(chunk)
        forward.pending.clear()
        try:
            while chunk := await reader.read(CHUNK):
                await self.data(forward.data_stream, chunk)
        except (ConnectionError, OSError):
            pass
        await self.data(forward.data_stream, b"", fin=True)
        await self.data(forward.error_stream, b"", fin=True)

    async def _to_pod(self, forward: Forward, payload: bytes, fin: bool) -> None:
        if forward.writer is None:
            forward.pending.append(payload)
            return
        if payload:
            forward.writer.write(payload)
            with contextlib.suppress(ConnectionError):
                await forward.writer.drain()
        if fin and forward.writer.can_write_eof():
            with contextlib.suppress(OSError):
                forward.writer.write_eof()

    @staticmethod
    def _close_pod(forward: Forward) -> None:
        if forward.writer is not None:
            forward.writer.close()
        if forward.task is not None:
            forward.task.cancel()


async def serve(request: web.Request, host: str) -> web.StreamResponse:
    """Upgrade to the tunnelled SPDY session, or refuse plainly what is not a WebSocket request."""
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), heartbeat=None)
    if not ws.can_prepare(request).ok:
        raise ApiError(
            400,
            "BadRequest",
            "port-forward here is served over WebSocket only (subprotocol "
            f"{PROTOCOL}); upgrade to SPDY directly is not supported",
        )
    await ws.prepare(request)
    session = SpdySession(ws, host)
    try:
        await session.run()
    except (ConnectionError, struct.error, zlib.error) as err:
        log.warning("port-forward session ended: %s", err)
    finally:
        await ws.close()
    return ws
