"""The load generator's accounting: exact counts, vegeta's field names and units, the judgement."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kserve_conformance.checks.validity import ServerWait
from kserve_conformance.load.attack import RECV_STALL_ENV, LoadSpec, Target
from kserve_conformance.load.reports import go_duration, vegeta_json, vegeta_text
from kserve_conformance.load.results import LoadResult
from kserve_conformance.load.runner import run_load
from kserve_conformance.load.slo import SLO, judge
from kserve_conformance.testing.known_target import serve


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (2_010_000, "2.01ms"),
        (145_082_066, "145.082066ms"),
        (3_059_329_338, "3.059329338s"),
        (60_000_000_000, "1m0s"),
        (3_723_000_000_000, "1h2m3s"),
    ],
)
def test_durations_print_as_go_prints_them(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def synthetic(latencies_ms: list[float], codes: list[int], lag_ms: float = 0.1, stall_ms: float = 0.1) -> LoadResult:
    spec = LoadSpec(Target("POST", "http://t/x", {}, b"{}"), rate=len(codes), duration_s=1)
    result = LoadResult(spec)
    for latency, code in zip(latencies_ms, codes, strict=True):
        result.latency.record_value(int(latency * 1000))
        result.lag.record_value(int(lag_ms * 1000))
        result.stall.record_value(int(stall_ms * 1000))
        result.status[code] += 1
        if code >= 400:
            result.errors[f"{code} Bad Gateway"] += 1
    result.earliest_ns, result.latest_ns, result.end_ns = 1_000_000_000, 1_990_000_000, 2_000_000_000
    return result


def test_one_failure_in_a_thousand_breaks_a_zero_error_budget_and_is_counted() -> None:
    result = synthetic([2.0] * 1000, [200] * 999 + [502])
    judgement = judge(result, SLO(p99_ms=100))
    assert judgement.violations == ["error rate 1/1000 exceeds --kserve-slo-error-rate=0 (at most 0 of 1000 may fail)"]
    assert "status codes 200:999  502:1" in result.summary()
    assert "1x 502 Bad Gateway" in result.summary()
    assert judge(result, SLO(p99_ms=100, error_rate=0.001)).passed


def test_p99_is_judged_on_the_tail_not_the_mean() -> None:
    result = synthetic([2.0] * 980 + [302.0] * 20, [200] * 1000)
    assert [v.split(" exceeds")[0] for v in judge(result, SLO(p99_ms=100)).violations] == ["latency p99 302.079ms"]
    assert judge(synthetic([2.0] * 995 + [302.0] * 5, [200] * 1000), SLO(p99_ms=100)).passed


def starving(result: LoadResult, slow_ms: list[tuple[float, float]], waits_ms: list[tuple[float, float]]) -> None:
    """Give ``result`` its slow requests, (sent at, latency) in ms, and the target's processes'
    cumulative CPU wait sampled at (time, wait) in ms, as a run on the local target records them."""
    ns = 1_000_000
    result.spec = replace(result.spec, slow_us=100_000)
    result.slow = [(int(at * ns), int((at + latency) * ns)) for at, latency in slow_ms]
    result.server_wait = ServerWait(1, samples=[(int(t * ns), {7: int(w * ns)}) for t, w in waits_ms])


def test_a_tail_the_targets_cpu_wait_accounts_for_makes_the_run_invalid() -> None:
    """20 requests over 100 ms, each in flight while the target's processes waited 250 ms for a CPU."""
    result = synthetic([2.0] * 980 + [302.0] * 20, [200] * 1000)
    starving(result, [(500.0 + i, 302.0) for i in range(20)], [(0, 0), (400, 0), (900, 250), (2000, 250)])
    judgement = judge(result, SLO(p99_ms=100))
    assert not judgement.violations, judgement.violations
    assert judgement.invalid == [
        "latency p99 302.079ms exceeds --kserve-slo-p99-ms=100, but only while the target's processes waited "
        "for a CPU: 20 requests over 100ms, of which 20 had at least as much CPU wait on the target's processes "
        "during their own flight as they were over (the machine this target shares was busy) and 0 had not; "
        "the bound allows 10"
    ]


def test_a_tail_beyond_the_targets_cpu_wait_is_the_targets() -> None:
    """The control: the same tail while the target waited 150 ms, less than the 202 ms each was over."""
    result = synthetic([2.0] * 980 + [302.0] * 20, [200] * 1000)
    starving(result, [(500.0 + i, 302.0) for i in range(20)], [(0, 0), (400, 0), (900, 150), (2000, 150)])
    judgement = judge(result, SLO(p99_ms=100))
    assert not judgement.invalid
    assert judgement.violations == [
        "latency p99 302.079ms exceeds --kserve-slo-p99-ms=100 (20 requests over 100ms, of which 0 had at least "
        "as much CPU wait on the target's processes during their own flight as they were over (the machine this "
        "target shares was busy) and 20 had not; the bound allows 10)"
    ]


def test_a_starved_moment_excuses_only_the_requests_in_flight_during_it() -> None:
    """10 late requests during the wait, 11 more after it: the 11 alone break p99 (allowed: 10)."""
    result = synthetic([2.0] * 979 + [302.0] * 21, [200] * 1000)
    late = [(500.0 + i, 302.0) for i in range(10)] + [(1200.0 + i, 302.0) for i in range(11)]
    starving(result, late, [(0, 0), (400, 0), (900, 250), (1100, 250), (2000, 250)])
    assert "and 11 had not; the bound allows 10" in judge(result, SLO(p99_ms=100)).violations[0]


def test_the_target_processes_cpu_wait_is_sampled_from_proc() -> None:
    """ServerWait reads real counters: this process's own main thread, around a busy moment."""
    import os

    with ServerWait(os.getpid(), period_ns=10_000_000) as waits:
        sum(range(2_000_000))
    assert len(waits.samples) >= 2 and os.getpid() in waits.samples[-1][1]
    assert waits.waited_ns(waits.samples[0][0], waits.samples[-1][0]) >= 0


def test_a_lagging_generator_makes_the_run_invalid_whatever_the_target_did() -> None:
    judgement = judge(synthetic([2.0] * 1000, [200] * 1000, lag_ms=50), SLO(p99_ms=100, max_lag_ms=10))
    assert judgement.invalid
    assert "generator scheduling lag p99 50.015ms > 10ms" in judgement.invalid[0]
    assert not judgement.passed


def test_a_stalled_receive_side_makes_the_run_invalid_though_sends_were_on_time() -> None:
    judgement = judge(synthetic([2.0] * 1000, [200] * 1000, stall_ms=30), SLO(p99_ms=100, max_lag_ms=10))
    assert judgement.invalid == [
        "generator receive-side event-loop stall p99 30.015ms > 10ms (--kserve-load-max-lag-ms): "
        "the generator was starved of CPU and its latencies include its own delay"
    ]


def test_an_injected_receive_side_stall_is_seen_by_the_probe(
    known_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real worker, with the test-only hook: every 10th answer blocks its loop 40 ms."""
    monkeypatch.setenv(RECV_STALL_ENV, "40/10")
    spec = LoadSpec(Target("GET", f"{known_target}/x"), rate=200, duration_s=1)
    result = run_load(spec)
    assert result.requests == 200 and result.status == {200: 200}
    assert result.stall.get_max_value() >= 30_000, result.summary()
    assert any("receive-side event-loop stall" in line for line in judge(result, SLO(max_lag_ms=10)).invalid), (
        result.summary()
    )


def test_vegeta_json_has_vegetas_fields_and_units() -> None:
    doc = vegeta_json(synthetic([2.0, 4.0], [200, 502]))
    assert set(doc) == {
        "latencies",
        "bytes_in",
        "bytes_out",
        "earliest",
        "latest",
        "end",
        "duration",
        "wait",
        "requests",
        "rate",
        "throughput",
        "success",
        "status_codes",
        "errors",
    }
    assert set(doc["latencies"]) == {"total", "mean", "50th", "90th", "95th", "99th", "max", "min"}
    assert doc["duration"] == 990_000_000
    assert doc["wait"] == 10_000_000
    assert doc["latencies"]["min"] == 2_000_000
    assert doc["status_codes"] == {"200": 1, "502": 1}
    assert doc["success"] == 0.5
    assert doc["errors"] == ["502 Bad Gateway"]
    assert doc["earliest"].endswith("Z")
    assert json.dumps(doc)


def test_vegeta_text_rows() -> None:
    text = vegeta_text(synthetic([2.0, 4.0], [200, 502]))
    assert text.splitlines()[0].startswith("Requests      [total, rate, throughput]         2, ")
    assert "Success       [ratio]                           50.00%" in text
    assert text.endswith("Error Set:\n502 Bad Gateway\n")


@pytest.fixture
def known_target() -> Iterator[str]:
    server, _ = serve(delay_ms=1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_planned_request_is_sent_once_and_counted(known_target: str) -> None:
    spec = LoadSpec(
        Target("POST", f"{known_target}/x", {"Content-Type": "application/json"}, b'{"a": 1}'),
        rate=200,
        duration_s=1,
        workers=2,
    )
    result = run_load(spec)
    stats = json.loads(__import__("urllib.request").request.urlopen(f"{known_target}/stats").read())
    assert result.requests == result.planned == 200 == stats["requests"]
    assert result.status == {200: 200}
    assert result.bytes_out == 200 * len(b'{"a": 1}')
    assert result.latency.get_total_count() == result.lag.get_total_count() == 200
    assert result.stall.get_total_count() > 0  # the receive-side probe ran


class Flaky(BaseHTTPRequestHandler):
    """Every 10th request answers 502; counts are what the generator must report exactly."""

    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with Flaky.lock:
            Flaky.count += 1
            status = 502 if Flaky.count % 10 == 0 else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_status_codes_and_errors_are_exact_counts() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = LoadSpec(Target("GET", f"http://127.0.0.1:{server.server_address[1]}/"), rate=100, duration_s=1)
        result = run_load(spec)
    finally:
        server.shutdown()
    assert result.status == {200: 90, 502: 10}
    assert result.errors == {"502 Bad Gateway": 10}
    assert result.successes == 90
    assert result.failures == 10


def test_refused_connections_are_transport_errors_with_status_zero() -> None:
    spec = LoadSpec(Target("GET", "http://127.0.0.1:9/"), rate=50, duration_s=0.2, timeout_s=2)
    result = run_load(spec)
    assert result.status == {0: 10}
    assert sum(result.errors.values()) == 10
    assert all("GET http://127.0.0.1:9/: ConnectionRefusedError" in e for e in result.errors), result.errors
