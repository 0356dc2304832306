"""The load phase's progress line merges every worker's counts and histogram."""

from __future__ import annotations

import json

from kserve_conformance.load.attack import LoadSpec, Recorder, Target, progress_line
from kserve_conformance.load.runner import Progress


def worker_doc(latencies_us: list[int], codes: list[int], sent: int) -> dict:
    rec = Recorder()
    for value, code in zip(latencies_us, codes, strict=True):
        rec.latency.record_value(value)
        rec.status[code] += 1
    return json.loads(progress_line(rec, sent))["progress"]


def test_progress_line_merges_workers() -> None:
    lines: list[str] = []
    spec = LoadSpec(Target("POST", "http://127.0.0.1:1/"), rate=100, duration_s=60, workers=2)
    progress = Progress(spec, lines.append, 0.0)
    progress.update(0, worker_doc([1000] * 99, [200] * 99, sent=100))
    assert lines == [], "one line per round, once every worker has reported"
    progress.update(1, worker_doc([1000] * 97 + [250_000] * 3, [200] * 97 + [502, 0, 200], sent=101))
    assert len(lines) == 1
    assert "of 60s, sent 201, ok 197, errors 2, p99 so far 250.111ms" in lines[0]  # HDR, 3 significant digits, lines[0]
