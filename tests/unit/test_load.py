"""The load generator's accounting: exact counts, vegeta's field names and units, the judgement."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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
