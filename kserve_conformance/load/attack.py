"""One load worker: an open-loop, constant-rate attack in its own process.

Why it is built this way:

* **Open loop, measured from the intended send time.** Request *i* is due at
  ``start + offset + i * interval`` whatever happened to request *i - 1*. Its latency runs from
  that due time to the last byte of the answer, so a target that stalls is charged for every
  request that should have gone out meanwhile (no coordinated omission).
* **A pacer thread, not asyncio timers** (``pacing.py``, shared with the LLM worker). Python's
  epoll wait rounds timeouts up to whole milliseconds, which would add up to 1 ms of invented
  latency to every request; ``time.sleep`` (``clock_nanosleep``) wakes within tens of
  microseconds. The pacer hands each due request to the event loop, which records how late it
  actually started (the *scheduling lag*) before sending it. Lag is the generator's own error:
  the run is judged invalid when it is large.
* **The receive side is judged too.** An answer's time is when the event loop read its last
  bytes (stamped in the protocol's ``data_received``, ``http.py``, not when the awaiting task
  resumed), so a loop that was busy or descheduled adds its delay to every answer arriving
  meanwhile; the send-side lag, sampled only as requests fall due, misses most of that. A probe
  on the loop (``process.start_stall_probe``) records how late the loop wakes every 10 ms (the
  *loop stall*); a run whose stall p99 is large is invalid as well.
* **Its own HTTP/1.1 client and no GC pauses.** aiohttp cost ~0.7 ms of Python per request on
  the send path alone; ``http.py`` sends the request's bytes built once. Cyclic garbage
  collection is off while the worker runs (``process.quiet_gc``).
* **HDR histograms** (µs, 3 significant digits) so percentiles are exact to 0.1 % and workers'
  results merge without loss.

Run as ``python -m kserve_conformance.load.attack --parent-pid PID``: reads the spec as one JSON
line on stdin, prints ``ready``, waits for the start time, runs (printing a ``{"progress": ...}``
line every few seconds when the spec asks), prints the result as one JSON line. It exits at once
if process PID goes away.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.load.http import Pool, Response
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

RECV_STALL_ENV = "KSERVE_LOAD_TEST_RECV_STALL"  # test-only: see injected_stall


@dataclass(frozen=True)
class Target:
    """What every request of the attack sends (vegeta's target)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body": base64.b64encode(self.body).decode(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Target:
        return cls(doc["method"], doc["url"], doc["headers"], base64.b64decode(doc["body"]))


@dataclass(frozen=True)
class LoadSpec:
    target: Target
    rate: float  # requests per second, all workers together
    duration_s: float
    workers: int = 1
    timeout_s: float = 30.0  # per request, as vegeta's -timeout
    connections: int = 10_000  # concurrent connections per worker (vegeta's -max-connections)
    # Requests at least this slow (µs) are also kept one by one, (intended send, answer) on the
    # shared monotonic clock, so that a verdict can ask what the machine did during each of them.
    slow_us: int | None = None

    def planned(self, worker: int) -> int:
        """How many requests this worker sends: its share of ``rate * duration``, interleaved."""
        total = round(self.rate * self.duration_s)
        return len(range(worker, total, self.workers))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "target": self.target.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LoadSpec:
        return cls(**{**doc, "target": Target.from_json(doc["target"])})


@dataclass
class Recorder:
    """Everything one worker measured; merged across workers by ``results.LoadResult``."""

    latency: HdrHistogram = field(default_factory=new_histogram)  # from the intended send time
    service: HdrHistogram = field(default_factory=new_histogram)  # from the actual send time
    lag: HdrHistogram = field(default_factory=new_histogram)  # actual - intended send time
    stall: HdrHistogram = field(default_factory=new_histogram)  # receive side: how late the loop woke
    status: Counter[int] = field(default_factory=Counter)  # 0 = transport error, as vegeta
    errors: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    earliest_ns: int = 0  # wall clock of the first and last actual send, and of the last answer
    latest_ns: int = 0
    end_ns: int = 0
    per_second: dict[int, list[int]] = field(default_factory=dict)  # second -> [requests, failures, max µs]
    slow: list[tuple[int, int]] = field(default_factory=list)  # (intended, done) of requests >= spec.slow_us
    slow_us: int | None = None

    def record(
        self,
        intended: int,
        sent: int,
        done: int,
        wall_offset: int,
        start: int,
        code: int,
        error: str,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        latency_us = max(LOWEST_US, (done - intended) // 1000)
        if self.slow_us is not None and latency_us >= self.slow_us:
            self.slow.append((intended, done))
        self.latency.record_value(min(latency_us, HIGHEST_US))
        self.service.record_value(min(max(LOWEST_US, (done - sent) // 1000), HIGHEST_US))
        self.status[code] += 1
        if error:
            self.errors[error] += 1
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out
        sent_wall, done_wall = sent + wall_offset, done + wall_offset
        self.earliest_ns = min(self.earliest_ns or sent_wall, sent_wall)
        self.latest_ns = max(self.latest_ns, sent_wall)
        self.end_ns = max(self.end_ns, done_wall)
        bucket = self.per_second.setdefault((intended - start) // 1_000_000_000, [0, 0, 0])
        bucket[0] += 1
        bucket[1] += not 200 <= code < 400
        bucket[2] = max(bucket[2], latency_us)

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": self.latency.encode().decode(),
            "service": self.service.encode().decode(),
            "lag": self.lag.encode().decode(),
            "stall": self.stall.encode().decode(),
            "status": {str(k): v for k, v in self.status.items()},
            "errors": dict(self.errors),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "earliest_ns": self.earliest_ns,
            "latest_ns": self.latest_ns,
            "end_ns": self.end_ns,
            "per_second": {str(k): v for k, v in self.per_second.items()},
            "slow": self.slow,
        }


def describe_error(err: BaseException, target: Target, timeout_s: float) -> str:
    """A transport error as one stable line, so equal errors count together in the error set."""
    if isinstance(err, asyncio.TimeoutError):
        return f"{target.method} {target.url}: timeout after {timeout_s:g}s"
    return f"{target.method} {target.url}: {type(err).__name__}: {err}"


def progress_line(rec: Recorder, sent: int) -> str:
    """What the worker has done so far, as one JSON line its parent merges across workers."""
    ok = sum(n for code, n in rec.status.items() if 200 <= code < 400)
    return json.dumps(
        {
            "progress": {
                "sent": sent,
                "ok": ok,
                "errors": sum(rec.status.values()) - ok,
                "latency": rec.latency.encode().decode(),
            }
        }
    )


def injected_stall() -> tuple[float, int] | None:
    """The test-only receive-side stall, from ``KSERVE_LOAD_TEST_RECV_STALL=MS/EVERY``.

    Every EVERY-th answer blocks the event loop for MS milliseconds as its bytes arrive, as a
    garbage collection or a busy loop would: every other answer arriving meanwhile is read late
    and its latency grows by what the generator itself did. The negative control of the
    receive-side detector sets it; nothing else should.
    """
    return stall_from_env(RECV_STALL_ENV)


async def attack(
    spec: LoadSpec, worker: int, start_ns: int, report: Callable[[str], None] | None = None, report_every_s: float = 5.0
) -> Recorder:
    """Send this worker's share of the requests on schedule and record every outcome.

    ``report`` gets a progress line every ``report_every_s`` seconds, so a minute of load is
    not a minute of silence on the terminal.
    """
    rec = Recorder(slow_us=spec.slow_us)
    wall_offset = time.time_ns() - time.monotonic_ns()
    interval_ns = 1e9 * spec.workers / spec.rate
    offset_ns = 1e9 * worker / spec.rate
    planned = spec.planned(worker)
    target = spec.target
    stall = injected_stall()
    answers = [0]
    # The request's bytes are built once: per-request header building is the send path's cost.
    pool = Pool(target.url, target.headers)
    request = pool.request_bytes(target.body, target.method)
    bytes_out = len(target.body)

    def on_head(_: Response) -> None:
        if stall is not None:
            answers[0] += 1
            if answers[0] % stall[1] == 0:
                time.sleep(stall[0])  # blocks the loop on purpose: see injected_stall

    async def fire(_: int, intended: int) -> None:
        sent = time.monotonic_ns()
        code, error, bytes_in = 0, "", 0
        size = [0]

        def on_body(_: int, data: bytes) -> None:
            size[0] += len(data)

        try:
            async with asyncio.timeout(spec.timeout_s):
                resp = await pool.post(request, on_body, on_head)
            code, bytes_in = resp.status, size[0]
            if not 200 <= code < 400:
                error = f"{code} {resp.reason}".strip()
            done = resp.last_ns  # the read that completed the answer, not when this task resumed
        except (TimeoutError, OSError) as err:  # ConnectionError is an OSError
            error, done = describe_error(err, target, spec.timeout_s), time.monotonic_ns()
        rec.record(intended, sent, done, wall_offset, start_ns, code, error, bytes_in, bytes_out)

    try:
        await open_loop(
            ((i, start_ns + int(offset_ns + i * interval_ns)) for i in range(planned)),
            fire,
            rec.lag,
            rec.stall,
            start_ns,
            f"kserve-load-pacer-{worker}",
            (lambda sent: report(progress_line(rec, sent))) if report else None,
            report_every_s,
        )
    finally:
        pool.close()
    return rec


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--parent-pid"]:
        die_with_parent(int(args[1]))
    # Ctrl-C reaches the whole process group; the parent decides when workers stop (it kills them).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pacer thread must get the GIL soon after it wakes; the default 5 ms switch interval
    # would show up as scheduling lag whenever the event loop is busy.
    sys.setswitchinterval(0.0002)
    doc = json.loads(sys.stdin.readline())
    spec, worker = LoadSpec.from_json(doc["spec"]), doc["worker"]
    print("ready", flush=True)
    start_ns = int(sys.stdin.readline())
    report_every_s = float(doc.get("progress_s", 0)) or None
    with quiet_gc():
        rec = run_fast(
            attack(
                spec,
                worker,
                start_ns,
                (lambda line: print(line, flush=True)) if report_every_s else None,
                report_every_s or 0,
            )
        )
    print(json.dumps(rec.to_json()), flush=True)


if __name__ == "__main__":
    main()
