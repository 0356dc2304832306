"""What would invalidate a timing verdict, measured while the measurement runs.

A verdict that rests on time ("the stream arrived in one piece", "TTFT over its SLO") is a
statement about the target only when the client could have seen otherwise. Three things on this
side of the wire make a healthy target look slow or buffered, and each is measured here:

* **A stall**: the client's thread or event loop did not run (descheduled, a garbage collection,
  another thread holding the GIL). A ticker that wakes at fixed due times records how late it woke
  and *when*, so a stall is known as an interval, not only as a size.
* **CPU wait**: Linux's per-thread run delay (``/proc/thread-self/schedstat``, the time the thread
  was runnable but waiting for a CPU). It sees the reading thread's own wait, which a ticker on
  another thread can miss.
* **The machine's CPU pressure** (``/proc/pressure/cpu``, the time some runnable task waited): where
  the server shares the client's machine (the local target) a busy machine starves the server too,
  and a stream then really arrives in one piece. It is recorded with every window for the reader;
  on its own it cannot tell a starved server from a buffering proxy (both happen on a busy machine),
  so verdicts use the server's own wait where the target can say it (``ServerWait``).

The rule every timing verdict follows: an *anomaly* (a held-back stream, a request over its SLO) is
**explained** when a measured condition was at least as large as the anomaly needs, at the moment it
happened. An explained anomaly is evidence neither way; only unexplained ones can fail a check, and
a check left with too little evidence says *invalid measurement*, with the figures.

Everything here is best effort and portable: where ``/proc`` does not have a file (another OS, an
old kernel) that figure is ``None`` and explains nothing.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TICK_NS = 1_000_000  # the ticker's period
STALL_MIN_NS = 2_000_000  # a tick this late or later is recorded as a stall interval


@dataclass(frozen=True)
class Stall:
    """The client did not run from (at the latest) ``start_ns`` until ``end_ns`` (monotonic)."""

    start_ns: int
    end_ns: int

    @property
    def ns(self) -> int:
        return self.end_ns - self.start_ns


def longest_stall_ending_near(stalls: Iterable[Stall], at_ns: int, slack_ns: int) -> int:
    """The longest stall that ended within ``slack_ns`` before ``at_ns`` (or just after it).

    What the client read at ``at_ns`` was held up by a stall only if the stall ended right then:
    on waking, a client reads everything that arrived meanwhile at once. ``slack_ns`` covers the
    work done between waking and stamping the read.
    """
    return max((s.ns for s in stalls if at_ns - slack_ns <= s.end_ns <= at_ns + slack_ns), default=0)


def longest_stall_within(stalls: Iterable[Stall], start_ns: int, end_ns: int) -> int:
    """The longest part of one stall that overlaps ``[start_ns, end_ns]`` (0 when none does)."""
    return max(0, max((min(s.end_ns, end_ns) - max(s.start_ns, start_ns) for s in stalls), default=0))


def stalled_within(stalls: Iterable[Stall], start_ns: int, end_ns: int) -> int:
    """All stall time inside ``[start_ns, end_ns]``, added up."""
    return sum(max(0, min(s.end_ns, end_ns) - max(s.start_ns, start_ns)) for s in stalls)


def _read_int_field(path: str, index: int) -> int | None:
    try:
        return int(Path(path).read_text().split()[index])
    except (OSError, ValueError, IndexError):
        return None


def thread_run_delay_ns() -> int | None:
    """The calling thread's total time runnable but waiting for a CPU (Linux schedstat), or None."""
    return _read_int_field("/proc/thread-self/schedstat", 1)


def cpu_pressure_us() -> int | None:
    """The machine's total time (µs) in which some runnable task waited for a CPU (Linux PSI), or None."""
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def tree_run_delays_ns(root_pid: int) -> dict[int, int]:
    """Run delay (ns) of the main thread of ``root_pid`` and of each of its descendants, by pid.

    Used where the server is a process tree on this machine (the local target). The main thread is
    where a server's event loop writes the answer (uvicorn's, vLLM's API server's, the gateway's);
    worker threads (a tensor library's pool) wait for CPUs all the time without holding a stream
    back, so counting them would excuse everything. The most-starved main thread's wait over a
    window is how long the server could have been held off the CPU.
    """
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            ppid = _ppid(entry.name)
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    out: dict[int, int] = {}
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        delay = _read_int_field(f"/proc/{pid}/schedstat", 1)
        if delay is not None:
            out[pid] = delay
    return out


def _ppid(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])  # the command name may hold spaces or ")"
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Mark:
    """The cumulative counters at one instant (monotonic ns)."""

    at_ns: int
    run_delay_ns: int | None
    pressure_us: int | None
    server_delays_ns: dict[int, int] | None


@dataclass(frozen=True)
class Window:
    """What the client (and, where known, the server) went through between two marks."""

    start_ns: int
    end_ns: int
    longest_stall_ns: int  # the longest ticker stall overlapping the window
    run_delay_ns: int | None  # the measuring thread's CPU wait in the window
    pressure_ns: int | None  # the machine's CPU pressure (some) in the window
    server_wait_ns: int | None  # the most-starved server process's main-thread CPU wait in the window
    stalled_ns: int = 0  # all ticker stalls in the window, added up

    @property
    def ns(self) -> int:
        return self.end_ns - self.start_ns

    def client_delay_ns(self) -> int:
        """How long the client itself may have been held up in the window, all told (the larger witness)."""
        return max(self.stalled_ns, self.longest_stall_ns, self.run_delay_ns or 0)

    def covers_excess(self, measured_s: float, ceiling_s: float) -> bool:
        """Over a ceiling by no more than the client itself was held up: the excess may be the client's.

        Such a time is no evidence against the target (nor for it): the check says *invalid
        measurement*. Over by more, the target took longer whatever the client went through.
        """
        return measured_s > ceiling_s >= measured_s - self.client_delay_ns() / 1e9

    def pressure_share(self) -> float | None:
        """The share of the window in which some task on this machine waited for a CPU."""
        return None if self.pressure_ns is None or not self.ns else self.pressure_ns / self.ns

    def describe(self) -> str:
        parts = [f"client stall {self.longest_stall_ns / 1e6:.1f} ms"]
        if self.run_delay_ns is not None:
            parts.append(f"client CPU wait {self.run_delay_ns / 1e6:.1f} ms")
        if self.server_wait_ns is not None:
            parts.append(f"server CPU wait {self.server_wait_ns / 1e6:.1f} ms")
        if self.pressure_ns is not None:
            parts.append(f"machine CPU pressure {self.pressure_ns / 1e6:.1f} ms")
        return ", ".join(parts)


@dataclass
class Witness:
    """A ticker thread plus counter marks: the client-side conditions of one measurement.

    Use as a context manager around the measurement; ``mark()`` on the measuring thread at each
    instant a verdict needs (request sent, first token read, stream done), then ``window(a, b)``.
    ``server_pid``: where the server is a process tree on this machine, its root (its threads' CPU
    wait is then measured at every mark).
    """

    server_pid: int | None = None
    stalls: list[Stall] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Witness:
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="kserve-witness-ticker", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _tick(self) -> None:
        due = time.monotonic_ns() + TICK_NS
        while not self._stop.is_set():
            time.sleep(max(0.0, (due - time.monotonic_ns()) / 1e9))
            now = time.monotonic_ns()
            if now - due >= STALL_MIN_NS:
                self.stalls.append(Stall(due, now))
            due += TICK_NS
            if due < now:  # charged once above; re-arm from now
                due = now + TICK_NS

    def mark(self) -> Mark:
        return Mark(
            time.monotonic_ns(),
            thread_run_delay_ns(),
            cpu_pressure_us(),
            tree_run_delays_ns(self.server_pid) if self.server_pid else None,
        )

    def window(self, a: Mark, b: Mark) -> Window:
        server: int | None = None
        if a.server_delays_ns is not None and b.server_delays_ns is not None:
            server = max((d - a.server_delays_ns.get(t, d) for t, d in b.server_delays_ns.items()), default=0)
        return Window(
            a.at_ns,
            b.at_ns,
            longest_stall_within(list(self.stalls), a.at_ns, b.at_ns),
            None if a.run_delay_ns is None or b.run_delay_ns is None else b.run_delay_ns - a.run_delay_ns,
            None if a.pressure_us is None or b.pressure_us is None else (b.pressure_us - a.pressure_us) * 1000,
            server,
            stalled_within(list(self.stalls), a.at_ns, b.at_ns),
        )


@contextlib.contextmanager
def witnessing(server_pid: int | None = None) -> Iterator[Witness]:
    with Witness(server_pid) as witness:
        yield witness


SAMPLE_NS = 20_000_000  # how often ServerWait reads the server processes' CPU wait
RESCAN_NS = 1_000_000_000  # how often it looks for processes that joined the tree (a replica started)


@dataclass
class ServerWait:
    """The CPU wait of a server's processes sampled through a measurement, for asking about any interval.

    Where the target shares this machine (the local target), a request can be late because its
    gateway or model server was runnable but not running: a fact about the machine, not about the
    target. ``waited_ns(a, b)`` is how long the server's main threads, added up, waited for a CPU
    between two instants (the samples around them, so a little more than the interval: the excuse
    it gives is generous by at most two sample periods (20 ms each) of wait, never short). Added up because a
    request passes through each process in turn, so their waits add to its latency.
    """

    server_pid: int
    period_ns: int = SAMPLE_NS
    samples: list[tuple[int, dict[int, int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ServerWait:
        self._sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kserve-server-wait", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def _sample(self) -> None:
        self.samples.append((time.monotonic_ns(), tree_run_delays_ns(self.server_pid)))

    def _run(self) -> None:
        """Every period, the known processes' counters: a few small reads, where finding the tree
        means reading every process's ``stat``, which is done once a second."""
        scanned = time.monotonic_ns()
        while not self._stop.wait(self.period_ns / 1e9):
            now = time.monotonic_ns()
            if now - scanned >= RESCAN_NS:
                self._sample()
                scanned = now
                continue
            pids = self.samples[-1][1]
            delays = {pid: d for pid in pids if (d := _read_int_field(f"/proc/{pid}/schedstat", 1)) is not None}
            self.samples.append((now, delays))

    def waited_ns(self, start_ns: int, end_ns: int) -> int:
        """The processes' CPU wait, added up, from the last sample at or before ``start_ns`` to the
        first at or after ``end_ns`` (the whole record where the interval runs past it)."""
        if not self.samples:
            return 0
        times = [t for t, _ in self.samples]
        first = self.samples[max(0, bisect.bisect_right(times, start_ns) - 1)][1]
        last = self.samples[min(len(times) - 1, bisect.bisect_left(times, end_ns))][1]
        return sum(max(0, delay - first[pid]) for pid, delay in last.items() if pid in first)


def server_waiting(server_pid: int | None) -> contextlib.AbstractContextManager[ServerWait | None]:
    """``ServerWait`` where the target is a process tree on this machine, else nothing measured (None)."""
    return ServerWait(server_pid) if server_pid else contextlib.nullcontext()
