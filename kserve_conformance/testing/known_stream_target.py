"""A streaming OpenAI-compatible target whose timing is known: TTFT, ITL and token counts exact.

The LLM load check's fidelity is measured against it (``bench/llm_load_fidelity.py``,
``tests/load/``): every stream sends its first content token ``--ttft-ms`` after the request
arrived and the next ones every ``--itl-ms`` (scheduled on absolute times, so they do not drift),
exactly ``max_tokens`` of them (as vLLM with ``ignore_eos``), then a ``usage`` chunk when asked
and ``data: [DONE]``. It measures what it actually did (server-side truth): when each content
chunk's write returned, per stream. A chat stream starts with a role-only chunk at once, as real
servers do, so a generator that counts it as the first token is caught.

Threads with ``time.sleep`` (``clock_nanosleep``) hold times to tens of microseconds, as in
``known_target.py`` (an asyncio server would round every wait up to epoll's millisecond).

Each token's text is `` t0``, `` t1``, ... by default; ``--token-text TEXT`` sends the same text
every time instead. The peer tools of the fidelity bench re-tokenize what they receive with a real
tokenizer and time each of *its* tokens, so for them every event must carry exactly one token of
that tokenizer: `` the`` is one token of the local target's tiny model, `` t0`` is two.

Faults, for the negative controls: ``--stall-every N --stall-ms S`` (every N-th stream waits S ms
more before its first token), ``--buffer`` (the whole stream is written at once at its end),
``--usage-delta D`` (``usage.completion_tokens`` is D off what was streamed).

    python -m kserve_conformance.testing.known_stream_target --ttft-ms 20 --itl-ms 10   # prints the port
    GET /stats  -> {"requests": N, "tokens": T, "rate": r, "ttft_us": {...}, "itl_us": {...}, "e2e_us": {...}, ...}
    POST /reset -> clears the counters
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hdrh.histogram import HdrHistogram

PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Timing:
    ttft_ms: float = 20.0
    itl_ms: float = 10.0
    stall_every: int = 0  # 0: never
    stall_ms: float = 500.0
    buffer: bool = False
    usage_delta: int = 0
    token_text: str = ""  # the same text for every token; "" = " t0", " t1", ...
    buffer_every: int = 0  # buffer only every Nth stream (one replica of N behind a buffering sidecar); 0: never


class Truth:
    """What the server did, per stream: the fidelity benchmark's reference."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.tokens = 0
        self.stalled = 0
        self.first_ns = self.last_ns = 0  # monotonic arrival of the first and the latest request
        self.hist = {n: HdrHistogram(1, 600_000_000, 3) for n in ("ttft", "itl", "tpot", "e2e")}

    def next_index(self, arrived_ns: int) -> int:
        with self.lock:
            self.requests += 1
            self.first_ns = self.first_ns or arrived_ns
            self.last_ns = arrived_ns
            return self.requests

    def record(self, ttft_ns: int, gaps_ns: list[int], e2e_ns: int, tokens: int, stalled: bool) -> None:
        with self.lock:
            self.tokens += tokens
            self.stalled += stalled
            self.hist["ttft"].record_value(max(1, ttft_ns // 1000))
            for g in gaps_ns:
                self.hist["itl"].record_value(max(1, g // 1000))
            if tokens > 1:
                self.hist["tpot"].record_value(max(1, (e2e_ns - ttft_ns) // 1000 // (tokens - 1)))
            self.hist["e2e"].record_value(max(1, e2e_ns // 1000))

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            span_s = (self.last_ns - self.first_ns) / 1e9
            out: dict[str, Any] = {
                "requests": self.requests,
                "tokens": self.tokens,
                "stalled": self.stalled,
                "rate": (self.requests - 1) / span_s if span_s > 0 else 0.0,  # intervals between arrivals
            }
            for name, h in self.hist.items():
                values = {f"p{p:g}": h.get_value_at_percentile(p) for p in PERCENTILES}
                out[f"{name}_us"] = {**values, "max": h.get_max_value(), "count": h.get_total_count()}
            return out


def make_handler(timing: Timing, truth: Truth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

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
                self._reply(200, json.dumps(truth.as_json()).encode())
            elif self.path == "/v1/models":
                self._reply(200, json.dumps({"object": "list", "data": [{"id": "known", "object": "model"}]}).encode())
            elif self.path.startswith("/v1/models/"):  # the API's "retrieve model"
                self._reply(200, json.dumps({"id": self.path.rsplit("/", 1)[1], "object": "model"}).encode())
            else:
                self._reply(404, b'{"error": "not found"}')

        def parse_request(self) -> bool:
            # The truth's clock starts as the request line has been read, before the ~0.3 ms the
            # standard library spends parsing headers: that is the server's time, not the client's.
            self.arrived_ns = time.monotonic_ns()
            return super().parse_request()

        def do_POST(self) -> None:
            arrived = self.arrived_ns
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if self.path == "/reset":
                truth.reset()
                self._reply(200, b"{}")
            elif self.path in ("/v1/completions", "/v1/chat/completions"):
                self._stream(arrived, body, chat=self.path.endswith("chat/completions"))
            else:
                self._reply(404, b'{"error": "not found"}')

        def _chunk(self, data: bytes, pending: list[bytes], hold: bool = False) -> None:
            """One HTTP chunk carrying one SSE event, written now (or held, when buffering)."""
            frame = b"%x\r\n%s\r\n" % (len(data), data)
            if timing.buffer or hold:
                pending.append(frame)
            else:
                self.wfile.write(frame)

        def _stream(self, arrived: int, body: dict[str, Any], chat: bool) -> None:
            index = truth.next_index(arrived)
            tokens = int(body.get("max_tokens") or 16)
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            model = str(body.get("model", "known"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            kind = "chat.completion.chunk" if chat else "text_completion"
            pending: list[bytes] = []

            def event(choice: dict[str, Any], usage: dict[str, int] | None = None) -> bytes:
                doc: dict[str, Any] = {"id": f"cmpl-{index}", "object": kind, "model": model, "choices": [choice]}
                if usage is not None:
                    doc = {**doc, "choices": [], "usage": usage}
                return b"data: " + json.dumps(doc).encode() + b"\n\n"

            if chat:
                self._chunk(event({"index": 0, "delta": {"role": "assistant", "content": ""}}), pending)
            hold = bool(timing.buffer_every) and index % timing.buffer_every == 0
            stalled = bool(timing.stall_every) and index % timing.stall_every == 0
            first_due = arrived + int((timing.ttft_ms + (timing.stall_ms if stalled else 0)) * 1e6)
            written: list[int] = []
            for k in range(tokens):
                due = first_due + int(k * timing.itl_ms * 1e6)
                delay = due - time.monotonic_ns()
                if delay > 0:
                    time.sleep(delay / 1e9)
                text = timing.token_text or f" t{k}"
                last = k == tokens - 1
                finish = "length" if last else None
                choice = (
                    {"index": 0, "delta": {"content": text}, "finish_reason": finish}
                    if chat
                    else {"index": 0, "text": text, "finish_reason": finish}
                )
                self._chunk(event(choice), pending, hold)
                written.append(time.monotonic_ns())
            if include_usage:
                usage = {"prompt_tokens": 5, "completion_tokens": tokens + timing.usage_delta}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self._chunk(event({}, usage), pending, hold)
            self._chunk(b"data: [DONE]\n\n", pending, hold)
            if pending:
                self.wfile.write(b"".join(pending))
                written = [time.monotonic_ns()] * len(written)
            self.wfile.write(b"0\r\n\r\n")
            end = time.monotonic_ns()
            gaps = [b - a for a, b in itertools.pairwise(written)]
            truth.record(written[0] - arrived if written else 0, gaps, end - arrived, len(written), stalled)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-stream is not an error here."""


def serve(timing: Timing, port: int = 0) -> tuple[ThreadingHTTPServer, Truth]:
    truth = Truth()
    return Server(("127.0.0.1", port), make_handler(timing, truth)), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--stall-every", type=int, default=0)
    parser.add_argument("--stall-ms", type=float, default=500.0)
    parser.add_argument("--buffer", action="store_true")
    parser.add_argument("--buffer-every", type=int, default=0)
    parser.add_argument("--usage-delta", type=int, default=0)
    parser.add_argument("--token-text", default="", help='every token\'s text (default " t0", " t1", ...)')
    parser.add_argument("--port", type=int, default=0)
    a = parser.parse_args()
    server, _ = serve(
        Timing(a.ttft_ms, a.itl_ms, a.stall_every, a.stall_ms, a.buffer, a.usage_delta, a.token_text, a.buffer_every),
        a.port,
    )
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
