"""Server-sent events as they arrive: each event's fields and the moment its last line came in.

The OpenAI API streams completions as "data-only server-sent events". A check needs more than the
parsed events: whether any line was not ``data:`` (a comment, ``event:``, ``id:``), whether the
stream ended with ``data: [DONE]``, and *when* each event arrived, measured on the monotonic clock
from the moment the request was about to be sent. Those times are what tells a stream that is
generated and delivered token by token from one a buffering proxy hands over in one piece, and the
basis of token-level latency (time to first token, inter-token latency).

The parser follows the HTML standard's event-stream rules (lines end in CRLF, LF or CR; a blank
line dispatches the event; ``data`` lines of one event are joined with newlines; a line starting
with a colon is a comment), but keeps every field it saw so checks can judge them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

DONE = "[DONE]"


@dataclass(frozen=True)
class Event:
    """One dispatched event: its ``data`` (lines joined), every other field, and its arrival time."""

    data: str
    at_s: float  # seconds after the request was about to be sent, when the blank line ending it arrived
    fields: tuple[tuple[str, str], ...] = ()  # every non-data field line (name, value), comments as ("", text)

    @property
    def done(self) -> bool:
        return self.data == DONE


@dataclass
class EventStream:
    """A whole streamed response: status, headers, events in order, and the raw bytes for evidence."""

    status: int
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    raw: bytes = b""
    first_byte_s: float | None = None
    end_s: float = 0.0  # when the body ended (connection closed or last chunk)
    trailing: str = ""  # an event left undispatched when the body ended (no blank line after it)

    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")

    def data_events(self) -> list[Event]:
        """Events before ``[DONE]`` that carry data (what a client parses as chunks)."""
        out = []
        for event in self.events:
            if event.done:
                break
            if event.data:
                out.append(event)
        return out


def lines_with_times(chunks: Iterable[bytes], start: float) -> Iterator[tuple[str, float, bytes]]:
    """Split arriving byte chunks into lines, each with the time its line end arrived.

    A line split across chunks gets the time of the chunk that completed it: that is when a
    client could first act on it.
    """
    pending = b""
    for chunk in chunks:
        now = time.monotonic() - start
        pending += chunk
        while True:
            cut = _line_end(pending)
            if cut is None:
                break
            end, width = cut
            yield pending[:end].decode("utf-8", errors="replace"), now, chunk
            pending = pending[end + width :]
    if pending:
        yield pending.decode("utf-8", errors="replace"), time.monotonic() - start, b""


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends and how wide its terminator is (CRLF, LF or a lone CR)."""
    for i, byte in enumerate(buffer):
        if byte == 0x0A:
            return i, 1
        if byte == 0x0D:
            if i + 1 == len(buffer):
                return None  # CR at the end: wait, it may be the first half of CRLF
            return i, 2 if buffer[i + 1] == 0x0A else 1
    return None


def parse(lines: Iterable[tuple[str, float]]) -> tuple[list[Event], str]:
    """Events from timed lines; also the text of an event the body ended without dispatching."""
    events: list[Event] = []
    data: list[str] = []
    fields: list[tuple[str, str]] = []
    for line, at in lines:
        if line == "":
            if data or fields:
                events.append(Event("\n".join(data), at, tuple(fields)))
            data, fields = [], []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields.append((name, value))
    trailing = "\n".join(data)
    return events, trailing
