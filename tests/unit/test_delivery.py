"""StreamIncremental's rule (``dataplane/delivery.py``) on synthetic attempts: what passes, fails,
is excused, and when the measurement is invalid."""

from __future__ import annotations

from kserve_conformance.checks.validity import Stall, Window
from kserve_conformance.dataplane.delivery import Attempt, attempt, verdict

SENT = 1_000_000_000
QUIET = Window(SENT, SENT + 200_000_000, 0, 0, 0, 0)


def held_back(first_s: float = 0.100, stalls: list[Stall] | None = None, window: Window = QUIET) -> Attempt:
    return attempt(64, first_s, first_s, SENT, window, stalls or [])


def test_one_incremental_stream_passes_whatever_came_before() -> None:
    attempts = [held_back(), held_back(), attempt(64, 0.010, 0.100, SENT, QUIET, [])]
    assert verdict(attempts, 5, 10).outcome == "passed"


def test_held_back_streams_the_client_did_not_cause_fail_at_the_evidence_count() -> None:
    attempts = [held_back() for _ in range(4)]
    assert verdict(attempts, 5, 10).outcome == "undecided"
    result = verdict([*attempts, held_back()], 5, 10)
    assert result.outcome == "failed"
    assert "5 of 5 streams were held back while the client was not held up" in result.message


def test_a_client_stall_ending_as_the_first_event_was_read_excuses_the_stream() -> None:
    # A healthy 1 ms-per-token stream read after a 30 ms stall: all 32 events at once at 60 ms.
    first_ns = SENT + 60_000_000
    stalled = held_back(0.060, [Stall(first_ns - 30_000_000, first_ns - 1_000_000)])
    assert "a client stall of 29.0 ms ended as it was read" in stalled.explained_by()
    # A stall that ended long before the read explains nothing.
    early = held_back(0.060, [Stall(SENT, SENT + 30_000_000)])
    assert early.explained_by() == ""


def test_the_clients_own_cpu_wait_excuses_a_stream_it_could_have_held_back() -> None:
    waited = Window(SENT, SENT + 100_000_000, 0, 12_000_000, None, None)
    assert "the client waited 12.0 ms for a CPU" in held_back(0.100, window=waited).explained_by()
    short = Window(SENT, SENT + 100_000_000, 0, 5_000_000, None, None)  # needed: 10 ms
    assert held_back(0.100, window=short).explained_by() == ""


def test_the_servers_cpu_wait_is_shown_but_excuses_nothing() -> None:
    server = Window(SENT, SENT + 100_000_000, 0, 0, 90_000_000, 40_000_000)
    stream = held_back(0.100, window=server)
    assert stream.explained_by() == ""
    assert "server CPU wait 40.0 ms" in stream.describe()


def test_attempts_run_out_with_too_little_evidence_is_invalid_not_failed() -> None:
    first_ns = SENT + 100_000_000
    excused = held_back(0.100, [Stall(SENT, first_ns)])
    result = verdict([excused] * 8 + [held_back()] * 2, 5, 10)
    assert result.outcome == "invalid"
    assert result.message.startswith("2 of 10 streams are evidence (at least 5 are needed)")


def test_a_model_that_stops_before_two_content_events_is_not_applicable() -> None:
    result = verdict([attempt(1, 0.05, 0.05, SENT, QUIET, [])] * 10, 5, 10)
    assert result.outcome == "not-applicable"
