"""The load check fails on exactly the thresholds a broken target breaks, and never judges a
starved generator.

Each control runs the real suite (``-m load``) for a few seconds against a local target whose
gateway misbehaves deterministically: every 1000th request answers 502, or every 50th (2 %) is
held 300 ms longer. Starvation is made real, not simulated: the generator's process is stopped
with SIGSTOP for 400 ms in mid-run, as a preempted VM or a CPU-throttled pod would be. The
receive side's starvation is made real inside the worker: the test-only hook
``KSERVE_LOAD_TEST_RECV_STALL=MS/EVERY`` blocks its event loop MS ms on every EVERY-th answer.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from kserve_conformance.load.attack import RECV_STALL_ENV
from tests.controls.runner import REPO, Run, as_a_user_would, read_junit, run_suite, suite_command, suite_env

pytestmark = pytest.mark.serial

LOAD = (
    "-m",
    "load",
    "--kserve-services=sklearn-iris",
    "--kserve-load-rate=200",
    "--kserve-load-duration=5",
    "--kserve-ready-timeout=60",
)


def test_healthy_target_passes_the_load_check(tmp_path: Path) -> None:
    run = run_suite(tmp_path, *LOAD)
    assert run.returncode == 0, run.output[-3000:]
    vegeta = (run.report_dir / "load" / "sklearn-iris" / "vegeta.txt").read_text()
    assert "Status Codes  [code:count]                      200:1000" in vegeta, vegeta
    for name in ("vegeta.json", "summary.json", "latency.hlog", "latency.png"):
        assert (run.report_dir / "load" / "sklearn-iris" / name).stat().st_size > 0, name


def test_one_502_in_a_thousand_fails_on_error_rate_with_the_count(tmp_path: Path) -> None:
    run = run_suite(tmp_path, *LOAD, "--kserve-local-fault=502-every=1000")
    message = run.failed("LoadSLO").message
    failed = re.search(r"error rate (\d+)/1000 exceeds --kserve-slo-error-rate=0", message)
    assert failed, message[:2000]
    assert f"502:{failed.group(1)}" in message and f"{failed.group(1)}x 502 Bad Gateway" in message, message[:2000]
    assert "p99" not in message.split("|")[0], "only the error rate should be named as broken"


def test_a_slow_two_percent_fails_on_p99(tmp_path: Path) -> None:
    run = run_suite(tmp_path, *LOAD, "--kserve-local-fault=delay-every=50:300")
    message = run.failed("LoadSLO").message
    assert re.search(r"latency p99 3\d\d\.\d+ms exceeds --kserve-slo-p99-ms=100", message), message[:2000]
    assert "error rate" not in message.split("|")[0], message[:2000]


def test_error_rate_threshold_tolerates_what_it_allows(tmp_path: Path) -> None:
    run = run_suite(tmp_path, *LOAD, "--kserve-local-fault=502-every=1000", "--kserve-slo-error-rate=0.001")
    assert run.returncode == 0, run.output[-3000:]


def _load_workers() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "kserve_conformance.load.attack" in cmdline:
            found.append(proc)
    return found


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    report_dir = tmp_path / "reports"
    proc = subprocess.Popen(
        suite_command(report_dir, *args),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=suite_env(PYTHONUNBUFFERED="1"),
        preexec_fn=as_a_user_would,
    )
    return proc, report_dir


def _wait_for_workers(proc: subprocess.Popen[str], timeout_s: float = 90) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        workers = [w for w in _load_workers() if proc.pid in {p.pid for p in w.parents()}]
        if workers:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"no load worker started (suite exit {proc.poll()})")


def test_starved_generator_is_reported_invalid_not_passed(tmp_path: Path) -> None:
    proc, report_dir = _start(tmp_path, *LOAD)
    workers = _wait_for_workers(proc)
    time.sleep(2.0)  # in mid-run: the workers start 0.2 s after they are ready
    for w in workers:
        w.send_signal(signal.SIGSTOP)
    time.sleep(0.4)
    for w in workers:
        w.send_signal(signal.SIGCONT)
    output = proc.communicate(timeout=180)[0]
    run = Run(proc.returncode, output, read_junit(report_dir / "junit.xml"), report_dir)
    message = run.invalid("LoadSLO").message
    assert "invalid measurement: generator scheduling lag p99" in message, message[:2000]
    assert "exceeds --slo" not in message, "an invalid run must not be judged against the thresholds"
    assert "invalid measurements 1" in output, output[-2000:]
    summary = (report_dir / "load" / "sklearn-iris" / "summary.json").read_text()
    assert '"verdict": "invalid"' in summary


def test_a_stalled_receive_side_is_reported_invalid_not_passed(tmp_path: Path) -> None:
    """Every 20th answer blocks the worker's event loop 30 ms: answers arriving meanwhile are read
    late, which the receive-side probe must name."""
    run = run_suite(tmp_path, *LOAD, env={RECV_STALL_ENV: "30/20"})
    message = run.invalid("LoadSLO").message
    assert message.startswith("invalid measurement: "), message[:2000]
    assert "generator receive-side event-loop stall p99" in message.split("|")[0], message[:2000]
    assert "exceeds --slo" not in message, "an invalid run must not be judged against the thresholds"
