"""The LLM load plot's "streams in flight": exact from the records' send and end times, however short the streams."""

from __future__ import annotations

from kserve_conformance.load.llm.reports import in_flight


def test_streams_shorter_than_any_grid_step_are_all_counted() -> None:
    """60 streams of 35 ms at 2/s: each is a step up at its send and down at its end (a grid read 0)."""
    records = [{"sent_ms": i * 500 + 0.3, "end_ms": i * 500 + 35.3} for i in range(60)]
    times, counts = in_flight(records)
    assert counts == [0] + [1, 0] * 60
    assert times[1:3] == [0.0003, 0.0353] and times[-1] == 29.5353


def test_overlaps_add_and_a_stream_ending_as_another_is_sent_leaves_the_count() -> None:
    records = [{"sent_ms": 0.0, "end_ms": 10.0}, {"sent_ms": 10.0, "end_ms": 20.0}, {"sent_ms": 5.0, "end_ms": 15.0}]
    assert in_flight(records) == ([0.0, 0.0, 0.005, 0.01, 0.015, 0.02], [0, 1, 2, 2, 1, 0])
    assert in_flight([]) == ([0.0], [0])
