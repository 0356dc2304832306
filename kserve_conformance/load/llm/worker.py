"""One LLM load worker: open-loop streaming requests in its own process, measured per chunk.

The open loop is the classic worker's (``load/pacing.py``): a pacer thread with ``time.sleep``
hands each due request to the event loop, which records how late it started (send-side lag);
HDR histograms merge exactly across workers; no cyclic GC during the run (``process.quiet_gc``,
as in ``load/attack.py``: a collection would stamp every chunk arriving meanwhile late). Two
things are added for streams:

* **Receive-side lag.** A chunk's time is when the event loop reads it, so a loop that is busy
  or descheduled adds its delay to TTFT and ITL, which the send-side lag never sees. A probe on
  the same loop wakes every ``process.STALL_PROBE_NS`` at fixed due times and records how late it woke
  (the *loop stall*); a run whose stall p99 is large is invalid, as one with a large send lag.
* **Its own HTTP client** (``http.py``): each body piece is stamped in ``data_received``, and the
  send path is a fraction of aiohttp's, which would be charged to every TTFT.
* **Per-request records.** Each stream's figures go to a JSONL file (one per worker), from which
  the parent counts goodput exactly and draws the in-flight and tokens/s curves.

Run as ``python -m kserve_conformance.load.llm.worker --parent-pid PID``: the same protocol as the
classic worker (spec as one JSON line on stdin, ``ready``, the start time, progress lines, the
result as one JSON line).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.checks.validity import STALL_MIN_NS, Stall, longest_stall_ending_near
from kserve_conformance.load.http import Pool, Response
from kserve_conformance.load.llm.metrics import Chunk, StreamFigures, Timeline, content_of, figures
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.pacing import open_loop
from kserve_conformance.load.process import (
    HIGHEST_US,
    LOWEST_US,
    die_with_parent,
    new_histogram,
    quiet_gc,
    run_fast,
    stall_from_env,
)


def _loads() -> Callable[[bytes], Any]:
    """orjson's parser when present (a dependency of the suite, but only a speed-up): a fraction
    of json's CPU per stream event, and the generator parses one per token."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


loads = _loads()

HISTOGRAMS = ("ttft", "itl", "tpot", "e2e", "lag", "stall")
FLAGS = ("usage_missing", "usage_impossible", "chunks_disagree", "client_disagree", "buffered", "buffered_explained")
READ_SLACK_NS = 5_000_000  # between the loop waking from a stall and the burst it delayed being stamped
SEND_STALL_ENV = "KSERVE_LLM_LOAD_TEST_SEND_STALL"  # test-only: see injected_send_stall


def injected_send_stall() -> tuple[float, int] | None:
    """The test-only client stall, from ``KSERVE_LLM_LOAD_TEST_SEND_STALL=MS/EVERY``.

    Right after every EVERY-th stream is sent, the event loop blocks for MS milliseconds, as a
    garbage collection or a descheduled process would: a healthy stream whose tokens all arrive
    meanwhile is read in one burst. The buffering verdict's self-tests set it; nothing else should.
    """
    return stall_from_env(SEND_STALL_ENV)


def excuse_burst(f: StreamFigures, t: Timeline, stalls: list[Stall]) -> StreamFigures:
    """A burst read as the loop woke from a stall is explained by the client, not evidence of buffering.

    On waking, the loop reads at once everything that arrived meanwhile, so a healthy stream whose
    tokens all came during one stall looks exactly like a buffered one. The stall's interval is known
    (``process.start_stall_probe``); when one ended as the burst was read, the stream is counted as
    ``buffered_explained`` instead of ``buffered`` (``slo.judge`` says how each counts).
    """
    if not f.buffered:
        return f
    first = next(c.at_ns for c in t.chunks if c.content)
    if longest_stall_ending_near(stalls, first, READ_SLACK_NS) < STALL_MIN_NS:
        return f
    return replace(f, buffered=False, buffered_explained=True)


def us(value_ms: float) -> int:
    return max(LOWEST_US, min(int(value_ms * 1000), HIGHEST_US))


@dataclass
class LLMRecorder:
    hist: dict[str, HdrHistogram] = field(default_factory=lambda: {n: new_histogram() for n in HISTOGRAMS})
    outcomes: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    output_tokens: int = 0  # of ok streams
    content_chunks: int = 0
    tokens_per_second: dict[int, int] = field(default_factory=dict)  # second of the run -> content tokens
    first_send_ns: int = 0  # monotonic
    last_end_ns: int = 0

    def record(self, f: StreamFigures, t: Timeline, start_ns: int) -> None:
        self.outcomes[f.outcome] += 1
        if t.error:
            self.errors[t.error] += 1
        for name in FLAGS:
            if getattr(f, name):
                self.flags[name] += 1
        for name, value in (("ttft", f.ttft_ms), ("tpot", f.tpot_ms), ("e2e", f.e2e_ms)):
            if value is not None:
                self.hist[name].record_value(us(value))
        for gap in f.itl_ms:
            self.hist["itl"].record_value(us(gap))
        if f.outcome == "ok":
            self.output_tokens += f.output_tokens
        self.content_chunks += f.content_chunks
        for c in t.chunks:
            if c.content:
                second = (c.at_ns - start_ns) // 1_000_000_000
                self.tokens_per_second[second] = self.tokens_per_second.get(second, 0) + c.tokens
        self.first_send_ns = min(self.first_send_ns or t.sent_ns, t.sent_ns)
        self.last_end_ns = max(self.last_end_ns, t.end_ns)

    def to_json(self) -> dict[str, Any]:
        return {
            "hist": {n: h.encode().decode() for n, h in self.hist.items()},
            "outcomes": dict(self.outcomes),
            "flags": dict(self.flags),
            "errors": dict(self.errors),
            "output_tokens": self.output_tokens,
            "content_chunks": self.content_chunks,
            "tokens_per_second": {str(k): v for k, v in self.tokens_per_second.items()},
            "first_send_ns": self.first_send_ns,
            "last_end_ns": self.last_end_ns,
        }


class TokenCounter:
    """Token counts from a tokenizer file, or 1 per chunk without one."""

    def __init__(self, path: str | None) -> None:
        self.tok: Any = None
        if path:
            # optional (only with --kserve-llm-load-tokenizer), so imported by name
            self.tok = importlib.import_module("tokenizers").Tokenizer.from_file(path)

    def count(self, text: str) -> int | None:
        return len(self.tok.encode(text, add_special_tokens=False).ids) if self.tok is not None else None


class SSEReader:
    """Splits body bytes into SSE lines; each event keeps the time its bytes arrived (``http.OnBody``).

    One stamp per socket read, not per parsed line: events that arrived together carry the same
    time however long parsing them takes, so parsing cost is not charged to ITL and a stream
    delivered at once is seen as one burst.
    """

    def __init__(self, t: Timeline, counter: TokenCounter) -> None:
        self.t, self.counter, self.pending = t, counter, b""
        self.body = b""  # the first bytes of a non-200 answer, for its error line

    def __call__(self, at: int, data: bytes) -> None:
        if self.t.status != 200:
            self.body = (self.body + data)[:200]
            return
        *lines, self.pending = (self.pending + data).split(b"\n")
        for raw in lines:
            if not self.t.done:
                event_line(raw.strip(), at, self.t, self.counter)


def event_line(line: bytes, at: int, t: Timeline, counter: TokenCounter) -> bool:
    """Take one SSE line into the timeline; True at ``data: [DONE]``."""
    if not line.startswith(b"data:"):
        return False
    payload = line[5:].strip()
    if payload == b"[DONE]":
        t.done, t.end_ns = True, at
        return True
    try:
        event = loads(payload)
    except ValueError:  # orjson.JSONDecodeError is one
        t.error = f"unparseable stream event: {payload[:80]!r}"
        return False
    if not isinstance(event, dict):
        return False
    if "error" in event:
        t.error = f"error event in the stream: {json.dumps(event['error'])[:200]}"
    usage = event.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        t.usage_tokens = usage["completion_tokens"]
    text = content_of(event)
    t.chunks.append(Chunk(at, text, (counter.count(text) or 1) if text else 0))
    return False


def describe(err: BaseException, timeout_s: float) -> str:
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        return f"timeout after {timeout_s:g}s"
    return f"{type(err).__name__}: {err}"


def on_head(t: Timeline) -> Callable[[Response], None]:
    def took(response: Response) -> None:
        t.status = response.status
        t.reason = response.reason

    return took


async def run(
    spec: LLMLoadSpec,
    worker: int,
    start_ns: int,
    records: IO[str] | None,
    report: Callable[[str], None] | None = None,
    report_every_s: float = 5.0,
) -> LLMRecorder:
    rec = LLMRecorder()
    stalls: list[Stall] = []
    send_stall = injected_send_stall()
    slots = spec.slots(worker)
    counter = TokenCounter(spec.tokenizer)
    # Every request's bytes built once: per-request header building is the send path's cost.
    pool = Pool(spec.url, {"Content-Type": "application/json", "Accept": "text/event-stream", **spec.headers})
    requests = [pool.request_bytes(spec.body(i)) for i in range(len(spec.prompts))]

    try:

        async def fire(i: int, intended: int) -> None:
            t = Timeline(intended, time.monotonic_ns())
            reader = SSEReader(t, counter)
            if send_stall is not None and i % send_stall[1] == 0:
                asyncio.get_running_loop().call_later(0.001, time.sleep, send_stall[0])
            try:
                request = requests[i % len(requests)]
                await asyncio.wait_for(pool.post(request, reader, on_head(t)), spec.timeout_s)
                if t.status != 200:
                    t.error = f"{t.status} {t.reason}: {reader.body[:120].decode(errors='replace')}".strip()
                elif t.chunks and counter.tok is not None:
                    t.client_tokens = counter.count("".join(c.content for c in t.chunks))
            except (TimeoutError, OSError) as err:  # ConnectionError is an OSError
                t.error = describe(err, spec.timeout_s)
                if t.status:  # it broke after the headers
                    t.error = f"stream broken: {t.error}"
            t.end_ns = t.end_ns or time.monotonic_ns()
            await asyncio.sleep(0)  # the stall probe's wake, when one was due, is recorded first
            f = excuse_burst(figures(t, spec.max_tokens), t, stalls)
            rec.record(f, t, start_ns)
            if records is not None:
                doc = {
                    "i": i,
                    "intended_ms": (intended - start_ns) / 1e6,
                    "intended_ns": intended,  # the shared monotonic clock: what the target went through then
                    "sent_ms": (t.sent_ns - start_ns) / 1e6,
                    "end_ms": (t.end_ns - start_ns) / 1e6,
                    "status": t.status,
                    "error": t.error,
                    "usage_tokens": t.usage_tokens,
                    "client_tokens": t.client_tokens,
                    **f.as_json(),
                }
                records.write(json.dumps(doc) + "\n")

        await open_loop(
            ((i, start_ns + offset) for i, offset in slots),
            fire,
            rec.hist["lag"],
            rec.hist["stall"],
            start_ns,
            f"kserve-llm-pacer-{worker}",
            (lambda sent: report(progress_line(rec, sent))) if report else None,
            report_every_s,
            stalls,
        )
    finally:
        pool.close()
    return rec


def progress_line(rec: LLMRecorder, sent: int) -> str:
    ok = rec.outcomes["ok"]
    return json.dumps(
        {
            "progress": {
                "sent": sent,
                "ok": ok,
                "errors": sum(rec.outcomes.values()) - ok,
                "tokens": rec.output_tokens,
                "ttft": rec.hist["ttft"].encode().decode(),
            }
        }
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--parent-pid"]:
        die_with_parent(int(args[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    sys.setswitchinterval(0.0002)  # the pacer thread gets the GIL soon after it wakes
    doc = json.loads(sys.stdin.readline())
    spec, worker = LLMLoadSpec.from_json(doc["spec"]), doc["worker"]
    print("ready", flush=True)
    start_ns = int(sys.stdin.readline())
    every = float(doc.get("progress_s", 0)) or None
    path = Path(spec.records_dir) / f"worker-{worker}.jsonl" if spec.records_dir else None
    with path.open("w") if path else open("/dev/null", "w") as records, quiet_gc():
        rec = run_fast(
            run(spec, worker, start_ns, records, (lambda line: print(line, flush=True)) if every else None, every or 0)
        )
    print(json.dumps(rec.to_json()), flush=True)


if __name__ == "__main__":
    main()
