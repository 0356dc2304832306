"""One load worker: an open-loop, constant-rate attack in its own process.

Why it is built this way:

* **Open loop, measured from the intended send time.** Request *i* is due at
  ``start + offset + i * interval`` whatever happened to request *i - 1*. Its latency runs from
  that due time to the last byte of the answer, so a target that stalls is charged for every
  request that should have gone out meanwhile (no coordinated omission).
* **A pacer thread, not asyncio timers.** Python's epoll wait rounds timeouts up to whole
  milliseconds, which would add up to 1 ms of invented latency to every request; ``time.sleep``
  (``clock_nanosleep``) wakes within tens of microseconds. The pacer hands each due request to
  the event loop, which records how late it actually started (the *scheduling lag*) before
  sending it. Lag is the generator's own error: the run is judged invalid when it is large.
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
import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import aiohttp
from hdrh.histogram import HdrHistogram

from kserve_conformance.timeouts import DEFAULT

LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS = 1, 3_600_000_000, 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


@dataclass(frozen=True)
class Target:
    """What every request of the attack sends (vegeta's target)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers,
                "body": base64.b64encode(self.body).decode()}

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
    status: Counter[int] = field(default_factory=Counter)  # 0 = transport error, as vegeta
    errors: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    earliest_ns: int = 0  # wall clock of the first and last actual send, and of the last answer
    latest_ns: int = 0
    end_ns: int = 0
    per_second: dict[int, list[int]] = field(default_factory=dict)  # second -> [requests, failures, max µs]

    def record(self, intended: int, sent: int, done: int, wall_offset: int, start: int, code: int, error: str,
               bytes_in: int, bytes_out: int) -> None:
        latency_us = max(LOWEST_US, (done - intended) // 1000)
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
            "latency": self.latency.encode().decode(), "service": self.service.encode().decode(),
            "lag": self.lag.encode().decode(),
            "status": {str(k): v for k, v in self.status.items()}, "errors": dict(self.errors),
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "earliest_ns": self.earliest_ns,
            "latest_ns": self.latest_ns, "end_ns": self.end_ns,
            "per_second": {str(k): v for k, v in self.per_second.items()},
        }


def describe_error(err: BaseException, target: Target, timeout_s: float) -> str:
    """A transport error as one stable line, so equal errors count together in the error set."""
    if isinstance(err, asyncio.TimeoutError):
        return f"{target.method} {target.url}: timeout after {timeout_s:g}s"
    return f"{target.method} {target.url}: {type(err).__name__}: {err}"


def progress_line(rec: Recorder, sent: int) -> str:
    """What the worker has done so far, as one JSON line its parent merges across workers."""
    ok = sum(n for code, n in rec.status.items() if 200 <= code < 400)
    return json.dumps({"progress": {"sent": sent, "ok": ok, "errors": sum(rec.status.values()) - ok,
                                    "latency": rec.latency.encode().decode()}})


async def attack(spec: LoadSpec, worker: int, start_ns: int,
                 report: Callable[[str], None] | None = None, report_every_s: float = 5.0) -> Recorder:
    """Send this worker's share of the requests on schedule and record every outcome.

    ``report`` gets a progress line every ``report_every_s`` seconds, so a minute of load is
    not a minute of silence on the terminal.
    """
    loop = asyncio.get_running_loop()
    rec = Recorder()
    wall_offset = time.time_ns() - time.monotonic_ns()
    interval_ns = 1e9 * spec.workers / spec.rate
    offset_ns = 1e9 * worker / spec.rate
    planned = spec.planned(worker)
    target = spec.target
    in_flight: set[asyncio.Task[None]] = set()
    paced = loop.create_future()
    sent_count = [0]

    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=spec.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     skip_auto_headers=("User-Agent",)) as session:

        async def fire(intended: int) -> None:
            sent = time.monotonic_ns()
            code, error, bytes_in = 0, "", 0
            try:
                async with session.request(target.method, target.url, data=target.body or None,
                                           headers=target.headers, allow_redirects=False) as resp:
                    body = await resp.read()
                    code, bytes_in = resp.status, len(body)
                    if not 200 <= code < 400:
                        error = f"{code} {resp.reason or ''}".strip()
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                error = describe_error(err, target, spec.timeout_s)
            rec.record(intended, sent, time.monotonic_ns(), wall_offset, start_ns, code, error, bytes_in,
                       len(target.body))

        def launch(intended: int) -> None:
            sent_count[0] += 1
            rec.lag.record_value(max(LOWEST_US, min((time.monotonic_ns() - intended) // 1000, HIGHEST_US)))
            task = loop.create_task(fire(intended))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        def pace() -> None:
            for i in range(planned):
                intended = start_ns + int(offset_ns + i * interval_ns)
                delay = intended - time.monotonic_ns()
                if delay > 0:
                    time.sleep(delay / 1e9)
                loop.call_soon_threadsafe(launch, intended)
            loop.call_soon_threadsafe(paced.set_result, None)

        pacer = threading.Thread(target=pace, name=f"kserve-load-pacer-{worker}", daemon=True)
        pacer.start()
        reporter = loop.create_task(_report(rec, sent_count, report, report_every_s)) if report else None
        await paced
        while in_flight:
            await asyncio.gather(*list(in_flight))
        if reporter is not None:
            reporter.cancel()
    return rec


async def _report(rec: Recorder, sent: list[int], report: Callable[[str], None], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        report(progress_line(rec, sent[0]))


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int, poll_s: float = DEFAULT.parent_poll_s) -> None:
    """End this worker as soon as the suite that started it is gone, however it died.

    The parent kills its workers when it ends normally or is interrupted, but a SIGKILL (a CI
    runner's hard cancel) gives it no chance: the worker would go on sending load at a real
    cluster until its planned duration ran out. On Linux the kernel sends SIGKILL when the parent
    dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere, and as a second line, a thread polls the parent
    pid and exits the process when it changes.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(3)

    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(3)
    threading.Thread(target=watch, name="kserve-load-parent-watchdog", daemon=True).start()


T = TypeVar("T")


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (it comes with ``uvicorn[standard]``, which
    KServe needs): the same event loop API at a fraction of the CPU per request, so the generator
    keeps its schedule on a machine the target shares."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: list[str] | None = None) -> None:
    args = (sys.argv[1:] if argv is None else argv)
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
    rec = run_fast(attack(spec, worker, start_ns, (lambda line: print(line, flush=True)) if report_every_s
                             else None, report_every_s or 0))
    print(json.dumps(rec.to_json()), flush=True)


if __name__ == "__main__":
    main()
