"""Files an LLM load run leaves in ``reports/llm-load/<service>/``.

* ``summary.json``: ``ttft_ms``, ``itl_ms``, ``tpot_ms``, ``e2e_ms`` (each ``p50``, ``p90``,
  ``p99``, ``max``), ``requests`` (``sent``, ``ok``, ``errors`` and every outcome's exact count),
  ``output_tokens``, ``output_tokens_per_s``, ``goodput``, the generator's own lag, the SLOs, the
  verdict, and the ``definitions`` used (``metrics.DEFINITIONS``), so a figure is never read
  with another tool's formula in mind.
* ``requests.jsonl``: one line per request (its figures, outcome and flags).
* ``<metric>.hlog``: each merged histogram in HdrHistogram's log format (µs).
* ``llm-load.png``: TTFT and ITL percentile curves, tokens/s and in-flight streams over time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from kserve_conformance.load.llm.metrics import DEFINITIONS
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.slo import LLMSLO, goodput
from kserve_conformance.load.reports import PLOT_PERCENTILES
from kserve_conformance.load.slo import Judgement


def summary(result: LLMResult, slo: LLMSLO, judgement: Judgement) -> dict[str, Any]:
    good, broken = goodput(result, slo)
    spec = result.spec
    return {
        "asked": {
            "url": spec.url,
            "model": spec.model,
            "kind": spec.kind,
            "rate": spec.rate,
            "arrival": spec.arrival,
            "seed": spec.seed,
            "durationSeconds": spec.duration_s,
            "workers": spec.workers,
            "planned": spec.planned,
            "max_tokens": spec.max_tokens,
            "ignore_eos": spec.ignore_eos,
            "tokenizer": spec.tokenizer,
        },
        "ttft_ms": result.percentiles("ttft"),
        "itl_ms": result.percentiles("itl"),
        "tpot_ms": result.percentiles("tpot"),
        "e2e_ms": result.percentiles("e2e"),
        "requests": {"sent": result.sent, "ok": result.ok, "errors": result.failed, "outcomes": dict(result.outcomes)},
        "stream_flags": dict(result.flags),
        "error_set": dict(result.errors.most_common()),
        "output_tokens": result.output_tokens,
        "content_chunks": result.content_chunks,
        "output_tokens_per_s": result.output_tokens_per_s,
        "achieved_rate": result.achieved_rate,
        "goodput": good / result.sent if result.sent else 0.0,
        "goodput_requests": good,
        "slo_broken": broken,
        "generator": {"send_lag_ms": result.percentiles("lag"), "receive_loop_stall_ms": result.percentiles("stall")},
        "slo": {**slo.__dict__, "goodput": slo.min_goodput},
        "verdict": "invalid" if judgement.invalid else "passed" if judgement.passed else "failed",
        "invalid": judgement.invalid,
        "violations": judgement.violations,
        "definitions": DEFINITIONS,
    }


def write_hlog(h: HdrHistogram, comment: str, path: Path) -> None:
    from hdrh.log import HistogramLogWriter

    with path.open("w") as out:
        writer = HistogramLogWriter(out)
        writer.output_comment(comment)
        writer.output_log_format_version()
        writer.output_legend()
        writer.output_interval_histogram(h, start_time_stamp_sec=0, end_time_stamp_sec=0)


def in_flight(records: list[dict[str, Any]]) -> tuple[list[float], list[int]]:
    """Streams open over the run, exactly: the times (s) at which the count changes, and the count from then on.

    A sweep over every record's send (+1) and end (-1), from 0 streams at 0 s: a stream is open from
    its ``sent_ms`` until its ``end_ms``, so the step function is exact however short the streams.
    Sampled on a grid it was not: 60 streams of 35 ms at 2/s, each open 7 % of the time, fell
    between almost every sample point, and the panel read as a flat 0. Plot it as a step line
    (``where="post"``).
    """
    change: dict[float, int] = {}
    for r in records:
        change[r["sent_ms"]] = change.get(r["sent_ms"], 0) + 1
        change[r["end_ms"]] = change.get(r["end_ms"], 0) - 1
    times, counts, now = [0.0], [0], 0
    for at in sorted(change):
        now += change[at]
        times.append(at / 1000)
        counts.append(now)
    return times, counts


def plot(result: LLMResult, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    xs = [1 / (1 - p / 100) if p < 100 else 1e6 for p in PLOT_PERCENTILES]
    for ax, name in ((axes[0][0], "ttft"), (axes[0][1], "itl")):
        h = result.hist[name]
        ys = [h.get_value_at_percentile(p) / 1000 if h.get_total_count() else 0 for p in PLOT_PERCENTILES]
        ax.plot(xs, ys, marker="o")
        ax.set_xscale("log")
        ax.set_xticks(xs[3:], [f"{p:g}%" for p in PLOT_PERCENTILES[3:]], rotation=45)
        ax.set_ylabel(f"{name.upper()} (ms)")
        ax.set_title(f"{name.upper()} by percentile")
        ax.grid(True, which="both", alpha=0.3)
    # Every content token counted in the second it arrived (the workers' tally, not a sample): a bar per
    # second shows all that was measured. Streams in flight are not a tally but a state, hence the sweep.
    seconds = sorted(result.tokens_per_second)
    axes[1][0].bar(seconds, [result.tokens_per_second[s] for s in seconds])
    axes[1][0].set_xlabel("second of the run")
    axes[1][0].set_title("content tokens received per second")
    ts, open_streams = in_flight(result.records)
    axes[1][1].step(ts, open_streams, where="post", linewidth=0.8)
    axes[1][1].set_ylim(bottom=0, top=max(open_streams, default=0) + 1)
    axes[1][1].yaxis.get_major_locator().set_params(integer=True)
    axes[1][1].set_xlabel("second of the run")
    axes[1][1].set_title(f"streams in flight (exact; at most {max(open_streams, default=0)})")
    for ax in axes[1]:
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_all(result: LLMResult, slo: LLMSLO, judgement: Judgement, out_dir: Path, title: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"summary.json": out_dir / "summary.json", "requests.jsonl": out_dir / "requests.jsonl"}
    files["summary.json"].write_text(json.dumps(summary(result, slo, judgement), indent=2) + "\n")
    files["requests.jsonl"].write_text("".join(json.dumps(r) + "\n" for r in result.records))
    for name in ("ttft", "itl", "tpot", "e2e"):
        files[f"{name}.hlog"] = out_dir / f"{name}.hlog"
        write_hlog(
            result.hist[name], f"kserve-conformance llm-load {name} in µs: {result.spec.url}", files[f"{name}.hlog"]
        )
    files["llm-load.png"] = out_dir / "llm-load.png"
    plot(result, title, files["llm-load.png"])
    return files
