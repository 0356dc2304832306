"""A target whose latency is known: every request is answered after exactly D milliseconds.

The fidelity benchmark points load generators at it and compares what they report with the
truth, which this server measures itself: how many requests arrived (so the achieved rate is
counted on the server side, not taken from the generator) and how long each was actually held.

Threads with ``time.sleep`` (``clock_nanosleep``) hold requests to within tens of microseconds;
an asyncio server would round every hold up to the next millisecond (epoll's resolution).

    python -m kserve_conformance.load.known_target --delay-ms 20   # prints the port, then serves
    GET /stats  -> {"requests": N, "first": t, "last": t, "hold_us": {"p50": ..., "p99": ...}}
    POST /reset -> clears the counters
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
        with self.lock:
            self.requests += 1
            self.first_ns = self.first_ns or arrived_ns
            self.last_ns = arrived_ns
            self.hold.record_value(max(1, hold_us))

    def as_json(self) -> dict[str, object]:
        with self.lock:
            return {"requests": self.requests, "first_ns": self.first_ns, "last_ns": self.last_ns,
                    "hold_us": {f"p{p:g}": self.hold.get_value_at_percentile(p) for p in (50, 90, 99, 99.9, 100)}}


def make_handler(delay_s: float, stats: Stats) -> type[BaseHTTPRequestHandler]:
    body = b'{"predictions": [1, 1]}'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real ingress
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path == "/stats":
                self._reply(200, json.dumps(stats.as_json()).encode())
            else:
                self._hold()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path == "/reset":
                stats.reset()
                self._reply(200, b"{}")
            else:
                self._hold()

        def _hold(self) -> None:
            arrived = time.monotonic_ns()
            time.sleep(delay_s)
            stats.record(time.time_ns(), (time.monotonic_ns() - arrived) // 1000)
            self._reply(200, body)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # listen() backlog: the default 5 drops SYNs under a burst of new connections

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer (wrk and hey at the end of a run) is not an error here."""


def serve(delay_ms: float, port: int = 0) -> tuple[ThreadingHTTPServer, Stats]:
    stats = Stats()
    server = Server(("127.0.0.1", port), make_handler(delay_ms / 1000, stats))
    return server, stats


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
