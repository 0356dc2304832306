"""Files a load run leaves in the report directory.

* ``vegeta.txt`` / ``vegeta.json``: the fields, names and units of ``vegeta report`` (text) and
  ``vegeta report -type=json`` (durations in nanoseconds), so existing dashboards and habits
  keep working. Percentiles come from the HDR histogram (3 significant digits), which is finer
  than vegeta's own quantile estimator.
* ``summary.json``: what vegeta rounds away: exact counts per status code and per error, the
  generator's scheduling lag, per-second counts, the thresholds and the judgement.
* ``latency.hlog``: the merged histogram in HdrHistogram's log format, to compare runs with
  HdrHistogram's tools (HistogramLogAnalyzer, ``hdrh`` in Python).
* ``latency.png``: the percentile curve and the per-second worst latency, for the Allure report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kserve_conformance.load.results import LoadResult
from kserve_conformance.load.slo import SLO, Judgement

PLOT_PERCENTILES = (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100)


def go_duration(ns: int) -> str:
    """A duration as Go's ``time.Duration.String`` prints it (vegeta's text report uses it)."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)

    def frac(n: int, unit: int, digits: int) -> str:
        whole, rest = divmod(n, unit)
        return f"{whole}.{str(rest).rjust(digits, '0').rstrip('0')}" if rest else str(whole)

    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{frac(ns, 1_000, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{frac(ns, 1_000_000, 6)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return f"{sign}{text}{frac(rest, 1_000_000_000, 9)}s"


def rfc3339(wall_ns: int) -> str:
    seconds, nanos = divmod(wall_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def _latencies_ns(result: LoadResult) -> dict[str, int]:
    h = result.latency
    count = h.get_total_count()
    return {
        "total": int(h.get_mean_value() * count * 1000),
        "mean": int(h.get_mean_value() * 1000),
        "50th": result.latency_us(50) * 1000,
        "90th": result.latency_us(90) * 1000,
        "95th": result.latency_us(95) * 1000,
        "99th": result.latency_us(99) * 1000,
        "max": int(h.get_max_value()) * 1000,
        "min": int(h.get_min_value()) * 1000,
    }


def vegeta_json(result: LoadResult) -> dict[str, Any]:
    n = result.requests or 1
    return {
        "latencies": _latencies_ns(result),
        "bytes_in": {"total": result.bytes_in, "mean": result.bytes_in / n},
        "bytes_out": {"total": result.bytes_out, "mean": result.bytes_out / n},
        "earliest": rfc3339(result.earliest_ns),
        "latest": rfc3339(result.latest_ns),
        "end": rfc3339(result.end_ns),
        "duration": result.attack_ns,
        "wait": result.wait_ns,
        "requests": result.requests,
        "rate": result.rate,
        "throughput": result.throughput,
        "success": result.successes / n,
        "status_codes": {str(code): count for code, count in sorted(result.status.items())},
        "errors": list(result.errors),
    }


def vegeta_text(result: LoadResult) -> str:
    lat = _latencies_ns(result)
    n = result.requests or 1
    rows = [
        ("Requests", "[total, rate, throughput]", f"{result.requests}, {result.rate:.2f}, {result.throughput:.2f}"),
        (
            "Duration",
            "[total, attack, wait]",
            ", ".join(go_duration(d) for d in (result.attack_ns + result.wait_ns, result.attack_ns, result.wait_ns)),
        ),
        (
            "Latencies",
            "[min, mean, 50, 90, 95, 99, max]",
            ", ".join(go_duration(lat[k]) for k in ("min", "mean", "50th", "90th", "95th", "99th", "max")),
        ),
        ("Bytes In", "[total, mean]", f"{result.bytes_in}, {result.bytes_in / n:.2f}"),
        ("Bytes Out", "[total, mean]", f"{result.bytes_out}, {result.bytes_out / n:.2f}"),
        ("Success", "[ratio]", f"{100 * result.successes / n:.2f}%"),
        ("Status Codes", "[code:count]", result.status_line()),
    ]
    lines = [f"{name:<14}{fields:<34}{values}" for name, fields, values in rows]
    return "\n".join([*lines, "Error Set:", *result.errors]) + "\n"


def summary(result: LoadResult, slo: SLO, judgement: Judgement) -> dict[str, Any]:
    pct = (50, 90, 95, 99, 99.9, 100)
    return {
        "asked": {
            "rate": result.spec.rate,
            "durationSeconds": result.spec.duration_s,
            "workers": result.spec.workers,
            "planned": result.planned,
            "method": result.spec.target.method,
            "url": result.spec.target.url,
            "host": result.spec.target.headers.get("Host"),
        },
        "requests": result.requests,
        "successes": result.successes,
        "failures": result.failures,
        "statusCodes": {str(c): n for c, n in sorted(result.status.items())},
        "errors": dict(result.errors.most_common()),
        "latencyMicroseconds": {f"p{p:g}": int(result.latency.get_value_at_percentile(p)) for p in pct},
        "serviceTimeMicroseconds": {f"p{p:g}": int(result.service.get_value_at_percentile(p)) for p in pct},
        "schedulingLagMicroseconds": {f"p{p:g}": int(result.lag.get_value_at_percentile(p)) for p in pct},
        "achievedRate": result.rate,
        "perSecond": [
            {"second": s, "requests": n, "failures": f, "maxLatencyMicroseconds": worst}
            for s, (n, f, worst) in sorted(result.per_second.items())
        ],
        "slo": slo.__dict__,
        "verdict": "invalid" if judgement.invalid else "passed" if judgement.passed else "failed",
        "invalid": judgement.invalid,
        "violations": judgement.violations,
    }


def write_hlog(result: LoadResult, path: Path) -> None:
    from hdrh.log import HistogramLogWriter

    with path.open("w") as out:
        writer = HistogramLogWriter(out)
        writer.output_comment(
            f"kserve-conformance load: {result.spec.target.method} {result.spec.target.url} "
            f"at {result.spec.rate:g}/s; values in microseconds from the intended send time"
        )
        writer.output_log_format_version()
        # Written by hand: hdrh 0.10's output_start_time() passes milliseconds to fromtimestamp().
        start_s = result.earliest_ns / 1e9
        out.write(f"#[StartTime: {start_s:.3f} (seconds since epoch), {rfc3339(result.earliest_ns)}]\n")
        writer.output_legend()
        writer.output_interval_histogram(
            result.latency, start_time_stamp_sec=0, end_time_stamp_sec=(result.end_ns - result.earliest_ns) / 1e9
        )


def plot(result: LoadResult, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curve, timeline) = plt.subplots(1, 2, figsize=(12, 4.5))
    xs = [1 / (1 - p / 100) if p < 100 else 1e6 for p in PLOT_PERCENTILES]
    ys = [result.latency.get_value_at_percentile(p) / 1000 for p in PLOT_PERCENTILES]
    curve.plot(xs, ys, marker="o")
    curve.set_xscale("log")
    curve.set_xticks(xs[3:], [f"{p:g}%" for p in PLOT_PERCENTILES[3:]], rotation=45)
    curve.set_xlabel("percentile")
    curve.set_ylabel("latency from intended send (ms)")
    curve.set_title("latency by percentile")
    curve.grid(True, which="both", alpha=0.3)
    seconds = sorted(result.per_second)
    timeline.plot(seconds, [result.per_second[s][2] / 1000 for s in seconds], label="worst latency (ms)")
    failures = [result.per_second[s][1] for s in seconds]
    if any(failures):
        timeline.bar(seconds, failures, color="tab:red", alpha=0.5, label="failed requests")
    timeline.set_xlabel("second of the run")
    timeline.set_title("per second")
    timeline.legend()
    timeline.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_all(result: LoadResult, slo: SLO, judgement: Judgement, out_dir: Path, title: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        name: out_dir / name for name in ("vegeta.txt", "vegeta.json", "summary.json", "latency.hlog", "latency.png")
    }
    files["vegeta.txt"].write_text(vegeta_text(result))
    files["vegeta.json"].write_text(json.dumps(vegeta_json(result), indent=2) + "\n")
    files["summary.json"].write_text(json.dumps(summary(result, slo, judgement), indent=2) + "\n")
    write_hlog(result, files["latency.hlog"])
    plot(result, title, files["latency.png"])
    return files
