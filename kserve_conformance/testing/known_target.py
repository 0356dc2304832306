"""A target whose latency is known: every request is answered after exactly D milliseconds.

The fidelity benchmark points load generators at it and compares what they report with the
truth, which this server measures itself: how many requests arrived (so the achieved rate is
counted on the server side, not taken from the generator) and how long each was actually held.

A releaser thread waiting on a condition variable holds requests to within tens of
microseconds; an asyncio server would round every hold up to the next millisecond (epoll's
resolution). Every request is answered after D ms, whatever its path, except the two below.

    python -m kserve_conformance.testing.known_target --delay-ms 20   # prints the port, then serves
    GET /stats  -> {"requests": N, "first": t, "last": t, "hold_us": {"p50": ..., "p99": ...}}
    POST /reset -> clears the counters
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import select
import selectors
import socket
import threading
import time

from hdrh.histogram import HdrHistogram


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.first_ns = 0
        self.last_ns = 0
        self.hold = HdrHistogram(1, 60_000_000, 3)

    def record(self, arrived_ns: int, hold_us: int) -> None:
        """``arrived_ns`` is wall-clock time: the achieved rate is counted between arrivals."""
        with self.lock:
            self.requests += 1
            self.first_ns = self.first_ns or arrived_ns
            self.last_ns = arrived_ns
            self.hold.record_value(max(1, hold_us))

    def as_json(self) -> dict[str, object]:
        with self.lock:
            return {
                "requests": self.requests,
                "first_ns": self.first_ns,
                "last_ns": self.last_ns,
                "hold_us": {f"p{p:g}": self.hold.get_value_at_percentile(p) for p in (50, 90, 99, 99.9, 100)},
            }


ANSWER = b'{"predictions": [1, 1]}'


def reply(status: str, payload: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


class Server:
    """One thread reads every connection (a selector); one thread answers each request when due.

    A thread per connection (``ThreadingHTTPServer``) cannot hold 2,000 req/s on two busy cores:
    once it falls behind, the generator opens more connections, each a thread waiting for the
    GIL, and the target collapses (measured: 960 req/s served, its own hold p99 308 ms). Here the
    reader parses a request and puts it on a heap by due time; the releaser sleeps on a condition
    variable (``pthread_cond_timedwait``, not epoll's millisecond) until the earliest is due and
    writes its answer, so the hold stays exact at any number of connections.
    """

    def __init__(self, delay_s: float, stats: Stats, port: int = 0) -> None:
        self.delay_ns = int(delay_s * 1e9)
        self.stats = stats
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4096)  # the default backlog drops SYNs under a burst of new connections
        self.sock.setblocking(False)
        self.server_address: tuple[str, int] = self.sock.getsockname()
        self.due: list[tuple[int, int, socket.socket, int, int]] = []  # (due, seq, conn, arrived, wall)
        self.seq = 0
        self.wake = threading.Condition()
        self.stopping = threading.Event()
        self.stopped = threading.Event()

    def serve_forever(self) -> None:
        threading.Thread(target=self._release, name="known-target-releaser", daemon=True).start()
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        try:
            while not self.stopping.is_set():
                for key, _ in sel.select(0.1):
                    if key.data is None:
                        self._accept(sel)
                    else:
                        self._read(sel, key.fileobj, key.data)  # type: ignore[arg-type]
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
            sel.close()
            self.stopped.set()

    def shutdown(self) -> None:
        self.stopping.set()
        with self.wake:
            self.wake.notify()
        self.stopped.wait(5)

    def _accept(self, sel: selectors.BaseSelector) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sel.register(conn, selectors.EVENT_READ, bytearray())

    def _read(self, sel: selectors.BaseSelector, conn: socket.socket, buf: bytearray) -> None:
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            sel.unregister(conn)
            conn.close()
            return
        buf += data
        while (end := buf.find(b"\r\n\r\n")) >= 0:
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(buf) < end + 4 + length:
                return
            del buf[: end + 4 + length]
            method, path = [*head[0].split(" "), "", ""][:2]
            self._handle(method, path, conn)

    def _handle(self, method: str, path: str, conn: socket.socket) -> None:
        if method == "GET" and path == "/stats":
            self._send(conn, reply("200 OK", json.dumps(self.stats.as_json()).encode()))
        elif method == "POST" and path == "/reset":
            self.stats.reset()
            self._send(conn, reply("200 OK", b"{}"))
        else:
            arrived = time.monotonic_ns()
            with self.wake:
                self.seq += 1
                heapq.heappush(self.due, (arrived + self.delay_ns, self.seq, conn, arrived, time.time_ns()))
                self.wake.notify()

    def _release(self) -> None:
        answer = reply("200 OK", ANSWER)
        while not self.stopping.is_set():
            with self.wake:
                if not self.due:
                    self.wake.wait(0.5)
                    continue
                wait_ns = self.due[0][0] - time.monotonic_ns()
                if wait_ns > 0:
                    self.wake.wait(wait_ns / 1e9)
                    continue
                _, _, conn, arrived, wall = heapq.heappop(self.due)
            self.stats.record(wall, (time.monotonic_ns() - arrived) // 1000)
            self._send(conn, answer)

    @staticmethod
    def _send(conn: socket.socket, data: bytes) -> None:
        """A small answer fits the socket's buffer; a client that went away is not an error here."""
        with contextlib.suppress(OSError):
            while data:
                try:
                    data = data[conn.send(data) :]
                except BlockingIOError:
                    select.select([], [conn], [], 1.0)


def serve(delay_ms: float, port: int = 0) -> tuple[Server, Stats]:
    stats = Stats()
    return Server(delay_ms / 1000, stats, port), stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server, _ = serve(args.delay_ms, args.port)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
