"""The validity model's own rules, on windows written by hand (no ticker, no clock).

A timing verdict over a ceiling is only about the target when the client's own delay cannot
account for the excess (ColdStart uses ``Window.covers_excess``).
"""

from __future__ import annotations

from kserve_conformance.checks.validity import Stall, Window, longest_stall_ending_near, stalled_within

MS = 1_000_000


def window(stall_ms: float = 0, cpu_wait_ms: float | None = 0) -> Window:
    wait = None if cpu_wait_ms is None else int(cpu_wait_ms * MS)
    return Window(0, 4000 * MS, int(stall_ms * MS), wait, None, None, stalled_ns=int(stall_ms * MS))


def test_an_excess_the_clients_delay_covers_is_no_verdict() -> None:
    assert window(stall_ms=300).covers_excess(measured_s=2.2, ceiling_s=2.0)
    assert window(cpu_wait_ms=250).covers_excess(measured_s=2.2, ceiling_s=2.0)


def test_an_excess_beyond_the_clients_delay_is_the_targets() -> None:
    """The control: a client held up 100 ms does not excuse 200 ms over the ceiling."""
    assert not window(stall_ms=100, cpu_wait_ms=100).covers_excess(measured_s=2.2, ceiling_s=2.0)
    assert not window(cpu_wait_ms=None).covers_excess(measured_s=2.2, ceiling_s=2.0)


def test_within_the_ceiling_nothing_needs_excusing() -> None:
    assert not window(stall_ms=5000).covers_excess(measured_s=1.9, ceiling_s=2.0)


def test_stalls_are_placed_in_time() -> None:
    stalls = [Stall(10 * MS, 40 * MS), Stall(100 * MS, 105 * MS)]
    assert longest_stall_ending_near(stalls, at_ns=41 * MS, slack_ns=2 * MS) == 30 * MS
    assert longest_stall_ending_near(stalls, at_ns=80 * MS, slack_ns=2 * MS) == 0
    assert stalled_within(stalls, 0, 200 * MS) == 35 * MS
