"""The streamed-answer client's parser, fed by hand: every split of the bytes gives the same body.

A real socket splits an answer anywhere (inside the status line, a chunk-size line, the CRLF
after a chunk); the parser must hand on the same body bytes, each with the time of the read
that brought it, and tell the status before the first body byte (they can come in one read).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kserve_conformance.load.http import Response, StreamProtocol

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'f\r\ndata: {"a":1}\n\n\r\n'
    b'f\r\ndata: {"b":2}\n\n\r\n'
    b"e\r\ndata: [DONE]\n\n\r\n"
    b"0\r\n\r\n"
)
BODY = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def feed(answer: bytes, pieces: list[int]) -> tuple[Response, bytes, list[int], list[int], StreamProtocol]:
    async def go() -> tuple[Response, bytes, list[int], list[int], StreamProtocol]:
        proto = StreamProtocol()
        transport: Any = FakeTransport()
        proto.connection_made(transport)
        body, stamps, status_at_first_byte = bytearray(), [], []

        def on_body(at: int, data: bytes) -> None:
            status_at_first_byte.append(response.status)
            body.extend(data)
            stamps.append(at)

        response = proto.start(b"POST / HTTP/1.1\r\n\r\n", on_body, lambda r: None)
        at = 0
        for size in pieces:
            proto.data_received(answer[at : at + size])
            at += size
        proto.data_received(answer[at:]) if at < len(answer) else None
        if proto.state == "close":
            proto.connection_lost(None)
        await asyncio.wait_for(response.done, 1)
        return response, bytes(body), stamps, status_at_first_byte, proto

    return asyncio.run(go())


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(CHUNKED)])
def test_a_chunked_answer_split_anywhere_gives_the_same_body(size: int) -> None:
    response, body, _, status_seen, proto = feed(CHUNKED, [size] * (len(CHUNKED) // size))
    assert response.status == 200 and body == BODY
    assert set(status_seen) == {200}, "the status is known before the first body byte is handed on"
    assert proto.state == "idle" and response.keep_alive


def test_a_sized_and_an_until_close_answer() -> None:
    sized = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
    response, body, _, _, _ = feed(sized, [10, 10])
    assert (response.status, response.reason, body) == (503, "Service Unavailable", b"busy")
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BODY
    response, body, _, _, _ = feed(until_close, [5])
    assert body == BODY and not response.keep_alive


def test_bytes_read_together_share_one_stamp() -> None:
    _, _, stamps, _, _ = feed(CHUNKED, [])  # the whole answer in one read
    assert len(set(stamps)) == 1


def test_a_chunk_not_ending_in_crlf_is_malformed() -> None:
    async def go() -> None:
        proto = StreamProtocol()
        transport: Any = FakeTransport()
        proto.connection_made(transport)
        response = proto.start(b"", lambda at, data: None, lambda r: None)
        proto.data_received(CHUNKED.replace(b"f\r\n", b"e\r\n", 1))
        with pytest.raises(ConnectionError, match="malformed HTTP answer"):
            await response.done
        assert transport.closed

    asyncio.run(go())


def test_a_connection_lost_mid_answer_fails_the_response() -> None:
    async def go() -> None:
        proto = StreamProtocol()
        transport: Any = FakeTransport()
        proto.connection_made(transport)
        response = proto.start(b"", lambda at, data: None, lambda r: None)
        proto.data_received(CHUNKED[:100])
        proto.connection_lost(None)
        with pytest.raises(ConnectionError, match="connection lost mid-answer"):
            await response.done

    asyncio.run(go())
