"""The open loop both load workers run: requests launched on schedule, whatever the answers do.

A pacer thread sleeps until each request is due and hands it to the event loop, which records
how late the request started (the send-side lag) and launches it as a task of its own; the
loop never waits for an answer before the next send, so a slow server cannot slow the
schedule down (no coordinated omission). ``time.sleep`` in a thread rather than the loop's own
timers, because the epoll wait behind those rounds timeouts up to whole milliseconds, where
``clock_nanosleep`` wakes within tens of microseconds (``attack.py``'s docstring has the
figures). A stall probe on the loop (``process.start_stall_probe``) sees the receive side's
lateness meanwhile. When the schedule is spent, the loop drains what is still in flight.

The classic worker (``attack.py``) and the LLM worker (``llm/worker.py``) differ in what one
request is, not in this; they pass their own ``fire``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.checks.validity import Stall
from kserve_conformance.load.process import HIGHEST_US, LOWEST_US, start_stall_probe


async def open_loop(
    schedule: Iterable[tuple[int, int]],
    fire: Callable[[int, int], Coroutine[Any, Any, None]],
    lag: HdrHistogram,
    stall: HdrHistogram,
    start_ns: int,
    name: str,
    progress: Callable[[int], None] | None = None,
    every_s: float = 5.0,
    stalls: list[Stall] | None = None,
) -> int:
    """Launch ``fire(i, intended_ns)`` for each ``(i, intended_ns)`` of ``schedule`` when it is due.

    ``schedule`` is read in the pacer thread, in order (monotonic ns). ``lag`` gets each send's
    lateness and ``stall`` the loop's (µs); ``progress``, when given, gets the count sent every
    ``every_s`` seconds; ``stalls``, when given, the loop's stalls as intervals. Returns the count
    sent, once every request has finished.
    """
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[None]] = set()
    paced = loop.create_future()
    sent = 0

    def launch(i: int, intended: int) -> None:
        nonlocal sent
        sent += 1
        lag.record_value(max(LOWEST_US, min((time.monotonic_ns() - intended) // 1000, HIGHEST_US)))
        task = loop.create_task(fire(i, intended))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    def pace() -> None:
        for i, intended in schedule:
            delay = intended - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            loop.call_soon_threadsafe(launch, i, intended)
        loop.call_soon_threadsafe(paced.set_result, None)

    async def report() -> None:
        while progress is not None:
            await asyncio.sleep(every_s)
            progress(sent)

    start_stall_probe(stall, lambda: not paced.done() or bool(in_flight), max(start_ns, time.monotonic_ns()), stalls)
    threading.Thread(target=pace, name=name, daemon=True).start()
    reporter = loop.create_task(report()) if progress is not None else None
    await paced
    while in_flight:
        await asyncio.gather(*list(in_flight))
    if reporter is not None:
        reporter.cancel()
    return sent
