"""The peer LLM load tools' result files, read into one shape so the fidelity bench compares like with like.

``bench/llm_load_fidelity.py`` runs kubernetes-sigs/inference-perf, GuideLLM and ``vllm bench
serve`` beside the suite's generator. Each writes its own JSON with its own names, units and
definitions; these parsers pick the fields that mean what the suite's TTFT, ITL and TPOT mean and
say, per figure, where a tool measures something else or nothing (``na``). They fail loudly
(``PeerFormatError``) when a field they rely on is missing, so a peer's format change shows up as
a failing unit test (``tests/unit/test_llm_peers.py``, recorded files in ``tests/data/llm-peers/``)
rather than as a silently wrong column.

What each tool's figures are (read from their sources; the bench's docstring has the full table):

* ``vllm bench serve`` (``vllm/benchmarks/lib/endpoint_request_func.py``, ``serve.py``): TTFT from
  its ``perf_counter`` before the POST to the first SSE event with a non-empty ``choices`` list
  (even one with empty text); ITL per event (per chunk, not per token); TPOT ``(latency - TTFT) /
  (output tokens - 1)`` with ``latency`` at the last ``choices`` event (not ``[DONE]``) and output
  tokens from ``usage.completion_tokens``; percentiles by ``numpy.percentile`` (linear). Fields
  ``p50_ttft_ms``, ``p99_ttft_ms``, ``p50_itl_ms``, ... (ms), ``completed``, ``total_output_tokens``.
* inference-perf 0.7.0 (``inference_perf/reportgen/base.py``, ``apis/streaming_parser.py``): every
  SSE event stamped (``perf_counter``) as its ``\\n\\n`` is parsed; the text of each event is
  re-tokenized with the configured tokenizer and every one of its tokens gets the event's time
  (so a k-token event adds k - 1 zero gaps). TTFT = first token's time minus ``start_time`` (the
  actual send; the schedule's delay is reported apart as ``schedule_delay``); ITL = the gaps
  between those token times (per client token); TPOT = (last token time - first token time) /
  (output tokens - 1), output tokens from ``usage`` when ``report.request_lifecycle.
  use_server_output_tokens`` (the bench sets it), else the client tokenizer's count; all in
  seconds, ``numpy.percentile``. Fields ``successes.latency.{time_to_first_token,
  inter_token_latency,time_per_output_token}.{median,p99}``, ``successes.count``,
  ``successes.output_tokens.total`` (server usage), ``successes.throughput.requests_per_sec``.
* GuideLLM 0.8.1 (``guidellm/schemas/base/request_stats.py``, ``benchmark/schemas/metrics.py``):
  per request, TTFT = ``first_token_iteration - request_start`` (the actual send); its
  ``inter_token_latency_ms`` is ``(last token - first token) / (output tokens - 1)``, one value a
  request, which is what the suite calls **TPOT**, so the bench compares it with TPOT; its own
  ``time_per_output_token_ms`` is ``(last token - request_start) / output tokens`` (the first
  token and TTFT included), which no other column means, so it is not compared. It keeps no
  distribution of single gaps: ITL is ``n/a``. Output tokens from ``usage`` (else one per
  iteration). Fields ``benchmarks[0].metrics.{time_to_first_token_ms,inter_token_latency_ms}.
  successful.percentiles.{p50,p99}`` (ms), ``...request_totals.successful``,
  ``...output_token_count.successful.total_sum``, ``...requests_per_second.successful.mean``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METRICS = ("ttft", "itl", "tpot")
PERCENTILES = (50, 99)


class PeerFormatError(ValueError):
    """A peer's result file lacks a field the comparison relies on: its format changed."""


@dataclass
class PeerFigures:
    """One tool's figures for one run, in ms; a figure it cannot give is absent and explained in ``na``."""

    tool: str
    ms: dict[str, float] = field(default_factory=dict)  # "ttft_p50" -> ms
    na: dict[str, str] = field(default_factory=dict)  # "ttft_p50" -> why the tool gives no such figure
    completed: int = 0  # streams the tool counts as successful
    output_tokens: int = 0  # as the tool counts them
    rate: float = 0.0  # requests per second, as the tool reports it (where there is no server-side truth)
    extra: dict[str, float] = field(default_factory=dict)  # anything else worth a column (e.g. the suite's lag)


def _get(doc: Any, *path: str | int) -> Any:
    here = doc
    for key in path:
        try:
            here = here[key]
        except (KeyError, IndexError, TypeError):
            raise PeerFormatError(f"no {'.'.join(map(str, path))} (missing at {key!r})") from None
    return here


def _number(doc: Any, *path: str | int) -> float:
    value = _get(doc, *path)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise PeerFormatError(f"{'.'.join(map(str, path))} is {value!r}, not a number")
    return float(value)


def parse_vllm_bench(doc: dict[str, Any]) -> PeerFigures:
    """``vllm bench serve --save-result --percentile-metrics ttft,tpot,itl --metric-percentiles 50,99``."""
    figures = PeerFigures("vllm bench serve")
    for metric in METRICS:
        for p in PERCENTILES:
            figures.ms[f"{metric}_p{p}"] = _number(doc, f"p{p}_{metric}_ms")
    figures.completed = int(_number(doc, "completed"))
    figures.output_tokens = int(_number(doc, "total_output_tokens"))
    figures.rate = _number(doc, "request_throughput")
    return figures


def parse_inference_perf(doc: dict[str, Any]) -> PeerFigures:
    """inference-perf's ``summary_lifecycle_metrics.json`` (seconds; the median is keyed ``median``)."""
    figures = PeerFigures("inference-perf")
    latency = _get(doc, "successes", "latency")
    names = {"ttft": "time_to_first_token", "itl": "inter_token_latency", "tpot": "time_per_output_token"}
    for metric, name in names.items():
        if _get(latency, name) is None:  # inference-perf writes null when no request streamed two tokens
            for p in PERCENTILES:
                figures.na[f"{metric}_p{p}"] = "no streamed request with 2+ tokens"
            continue
        for p in PERCENTILES:
            figures.ms[f"{metric}_p{p}"] = 1000 * _number(latency, name, "median" if p == 50 else f"p{p}")
    figures.completed = int(_number(doc, "successes", "count"))
    figures.output_tokens = int(_number(doc, "successes", "output_tokens", "total"))
    figures.rate = _number(doc, "successes", "throughput", "requests_per_sec")
    return figures


GUIDELLM_NO_ITL = "per-request means only"


def parse_guidellm(doc: dict[str, Any]) -> PeerFigures:
    """GuideLLM's ``--output-path x.json`` report: its first benchmark's successful requests."""
    figures = PeerFigures("GuideLLM")
    metrics = _get(doc, "benchmarks", 0, "metrics")
    for metric, name in (("ttft", "time_to_first_token_ms"), ("tpot", "inter_token_latency_ms")):
        for p in PERCENTILES:
            figures.ms[f"{metric}_p{p}"] = _number(metrics, name, "successful", "percentiles", f"p{p}")
    for p in PERCENTILES:
        figures.na[f"itl_p{p}"] = GUIDELLM_NO_ITL
    figures.completed = int(_number(metrics, "request_totals", "successful"))
    figures.output_tokens = int(_number(metrics, "output_token_count", "successful", "total_sum"))
    figures.rate = _number(metrics, "requests_per_second", "successful", "mean")
    return figures
