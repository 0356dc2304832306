"""What every load worker process shares, kept free of any HTTP client.

The classic worker (``attack.py``, aiohttp) and the LLM worker (``llm/worker.py``, its own client)
are separate interpreters; importing aiohttp costs ~0.3 CPU-seconds, which the LLM worker would
pay for nothing. So the histogram shape, the parent watchdog, the receive-side stall probe and
the event-loop choice live here (the HTTP client both use is ``http.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from hdrh.histogram import HdrHistogram

from kserve_conformance.checks.validity import STALL_MIN_NS, Stall
from kserve_conformance.timeouts import DEFAULT

LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS = 1, 3_600_000_000, 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


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


STALL_PROBE_NS = 10_000_000


def stall_from_env(name: str) -> tuple[float, int] | None:
    """A test-only injected stall, ``MS/EVERY`` in the environment variable ``name``: (seconds, every).

    Both workers' negative controls block the event loop on purpose this way (``attack.injected_stall``,
    ``llm.worker.injected_send_stall``); nothing else sets these variables.
    """
    raw = os.environ.get(name, "")
    if not raw:
        return None
    stall_ms, _, every = raw.partition("/")
    return float(stall_ms) / 1000, max(1, int(every or 1))


def start_stall_probe(
    hist: HdrHistogram, running: Callable[[], bool], first_due_ns: int, stalls: list[Stall] | None = None
) -> None:
    """Record, every ``STALL_PROBE_NS`` on the running loop, how late the loop woke (µs).

    The receive side's error: an answer's time is when the event loop reads it, so a loop that is
    busy, collecting garbage or descheduled adds its delay to every answer that arrives meanwhile,
    and the send-side lag (sampled only when a request is due) misses most of it. The probe wakes
    at fixed due times (not "10 ms after the last wake"), so a stall is charged once, in full, and
    what the histogram holds is the loop's lateness as any answer would have felt it. It re-arms
    while ``running()`` says the run is on. ``stalls``, when given, also gets each wake at least
    ``validity.STALL_MIN_NS`` late as an interval, so a verdict can ask what a stall explains.
    """
    loop = asyncio.get_running_loop()

    def probe(due: int) -> None:
        now = time.monotonic_ns()
        hist.record_value(max(LOWEST_US, min((now - due) // 1000, HIGHEST_US)))
        if stalls is not None and now - due >= STALL_MIN_NS:
            stalls.append(Stall(due, now))
        nxt = due + STALL_PROBE_NS
        if running():
            loop.call_later(max(0.0, (nxt - time.monotonic_ns()) / 1e9), probe, nxt)

    loop.call_later(max(0.0, (first_due_ns - time.monotonic_ns()) / 1e9), probe, first_due_ns)


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No cyclic garbage collection while the worker runs.

    A full collection walks every tracked object with the event loop stopped, and every answer
    arriving meanwhile is stamped late. A worker's objects are few and short-lived (reference
    counting frees them), so setup's objects are frozen out of the collector and collection is
    off until the run ends; the cycles a run leaves (failed requests' tracebacks) are collected
    after it.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


T = TypeVar("T")


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (a dependency of the suite where uvloop
    builds, not on Windows): the same event loop API at a fraction of the CPU per request, so the
    generator keeps its schedule on a machine the target shares."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
