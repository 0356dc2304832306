"""The metrics checks' arithmetic, from exposition text alone: parse, grow, cardinality, buckets, quantile ranges.

The texts are what the real servers write (KServe's ModelServer 0.21 and vLLM 0.32, scraped on the
local target), cut down; the quoted KServe sentences the checks rest on must be in KServe's own
page, word for word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kserve_conformance.dataplane.metrics import (
    Count,
    MetricsFormatError,
    Snapshot,
    combined,
    count,
    growing_labels,
    growth,
    nearest_bound,
    quantile_range,
    resolves,
)
from tests.controls.test_every_check_has_a_control import all_checks

KSERVE = """# HELP request_predict_seconds predict request latency
# TYPE request_predict_seconds histogram
request_predict_seconds_bucket{{le="0.005",model_name="sk"}} {fast}
request_predict_seconds_bucket{{le="0.1",model_name="sk"}} {n}
request_predict_seconds_bucket{{le="+Inf",model_name="sk"}} {n}
request_predict_seconds_count{{model_name="sk"}} {n}
request_predict_seconds_sum{{model_name="sk"}} 0.01
# HELP request_explain_seconds explain request latency
# TYPE request_explain_seconds histogram
"""
VLLM = """# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{{engine="0",model_name="tiny"}} {tokens}
# HELP vllm:request_success_total Count of successfully processed requests.
# TYPE vllm:request_success_total counter
vllm:request_success_total{{engine="0",finished_reason="length",model_name="tiny"}} {n}
vllm:request_success_total{{engine="0",finished_reason="stop",model_name="tiny"}} 0.0
"""


def kserve(n: int, fast: int | None = None) -> Snapshot:
    return Snapshot.parse(KSERVE.format(n=float(n), fast=float(n if fast is None else fast)))


def test_samples_are_kept_by_sample_name_and_labels() -> None:
    snap = Snapshot.parse(VLLM.format(tokens=32.0, n=4.0))
    assert snap.total("vllm:generation_tokens_total", {"model_name": "tiny"}) == 32
    assert snap.total("vllm:request_success_total", {"model_name": "tiny"}) == 4
    assert snap.total("vllm:generation_tokens_total", {"model_name": "other"}) is None
    assert kserve(3).types["request_explain_seconds"] == "histogram"


def test_growth_counts_a_series_that_first_appears_from_zero() -> None:
    empty = Snapshot.parse("")
    assert growth(empty, kserve(20), "request_predict_seconds_count", {"model_name": "sk"}) == 20
    assert growth(kserve(5), kserve(25), "request_predict_seconds_count", {"model_name": "sk"}) == 20
    assert growth(kserve(5), empty, "request_predict_seconds_count", {"model_name": "sk"}) is None


@pytest.mark.parametrize(
    ("grew", "verdict"),
    [(20.0, Count.EXACT), (16.0, Count.SHORT), (23.0, Count.SURPLUS), (None, Count.ABSENT), (0.0, Count.SHORT)],
)
def test_short_fails_and_surplus_is_never_the_servers_fault(grew: float | None, verdict: Count) -> None:
    """Another client's requests can only add: growth beyond the burst cannot be attributed, growth short of it can."""
    assert count(grew, 20) is verdict


def test_pods_are_summed() -> None:
    both = combined([kserve(3), kserve(4)])
    assert both.total("request_predict_seconds_count", {"model_name": "sk"}) == 7


def test_text_that_is_not_the_exposition_format_is_refused_in_one_line() -> None:
    with pytest.raises(MetricsFormatError, match="not the Prometheus text format"):
        Snapshot.parse("<html><body>404</body></html>\n")


def test_a_label_per_request_grows_and_a_first_value_does_not() -> None:
    def per_request(ids: range) -> Snapshot:
        lines = [f'x_count{{model_name="sk",request_id="r{i}"}} 1.0' for i in ids]
        return Snapshot.parse("# TYPE x counter\n" + "\n".join(lines) + "\n")

    growing = growing_labels(per_request(range(1)), per_request(range(21)), 20)
    assert [(g.sample, g.label, g.count) for g in growing] == [("x_count", "request_id", 20)]
    before = Snapshot.parse(VLLM.format(tokens=0.0, n=0.0))
    after = Snapshot.parse(
        VLLM.format(tokens=80.0, n=19.0)
        + 'vllm:request_success_total{engine="0",finished_reason="abort",model_name="tiny"} 1.0\n'
    )
    assert growing_labels(before, after, 20) == []


@pytest.mark.parametrize(
    ("bounds", "threshold", "ok"),
    [
        ([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25], 0.1, True),  # KServe's defaults hold the 100 ms p99
        ([0.02, 0.04, 1.0, 2.5, 5.0], 2.0, True),  # vLLM's TTFT: 2.5 s next to the 2 s threshold
        ([10.0], 0.1, False),  # one coarse bucket
        ([0.1, 0.25], 0.16, False),  # between two bounds, both more than 1.5 times away
        ([], 0.1, False),
    ],
)
def test_a_threshold_is_resolved_by_a_bound_within_a_factor_of_one_and_a_half(
    bounds: list[float], threshold: float, ok: bool
) -> None:
    assert resolves(bounds, threshold) is ok


def test_the_nearest_bound_is_nearest_by_ratio() -> None:
    assert nearest_bound([1.0, 2.5], 2.0) == 2.5
    assert nearest_bound([0.05, 0.25], 0.1) == 0.05


def test_the_quantile_range_is_the_bucket_of_the_observations_in_between() -> None:
    assert quantile_range(kserve(10, 10), kserve(30, 11), "request_predict_seconds", {}, 0.5) == (0.005, 0.1)
    assert quantile_range(kserve(10, 10), kserve(30, 30), "request_predict_seconds", {}, 0.99) == (0.0, 0.005)
    assert quantile_range(kserve(10), kserve(10), "request_predict_seconds", {}, 0.5) is None


def test_the_kserve_sentences_the_metrics_checks_quote_are_kserves(reference: Path) -> None:
    page = " ".join((reference / "kserve" / "docs" / "prometheus-metrics.md").read_text().split())
    quoted = 0
    for name, check in all_checks().items():
        if not name.startswith("Metrics"):
            continue
        for quote, source in re.findall(r'"([^"]+)" \(([^)]+)\)', check.spec):
            if source.startswith("KServe"):
                assert " ".join(quote.split()) in page, f"{name}: not in KServe's page: {quote!r}"
                quoted += 1
    assert quoted >= 3, "the metrics checks quote KServe's page"


@pytest.mark.parametrize(
    ("kubectl_says", "outcome"),
    [
        ('error: pods "p" is forbidden: User "u" cannot create resource "pods/portforward"', "not applicable"),
        ("error: unable to forward port because pod is not running", "failed"),
    ],
)
def test_a_port_forward_this_user_may_not_make_is_not_the_targets_failure(
    monkeypatch: pytest.MonkeyPatch, kubectl_says: str, outcome: str
) -> None:
    """RBAC without pods/portforward leaves the metrics unreachable to this user: not applicable.
    A forward that fails for another reason is the check's finding."""
    from types import SimpleNamespace
    from typing import Any, cast

    from kserve_conformance.cluster.pods import MetricsTarget
    from kserve_conformance.errors import SetupError
    from kserve_conformance.fixtures import metrics_steps

    def refused(*_: object, **__: object) -> None:
        raise SetupError(f"kubectl port-forward to pod ns/p port 8080 failed: {kubectl_says}", "check RBAC")

    monkeypatch.setattr(metrics_steps, "port_forward_pod", refused)
    service = SimpleNamespace(namespace="ns")
    cluster = SimpleNamespace(access=SimpleNamespace(kubeconfig=None, context=None))
    metrics = metrics_steps.ModelMetrics(cast(Any, service), cast(Any, cluster))
    with pytest.raises((pytest.skip.Exception, AssertionError)) as caught:
        metrics.forward(MetricsTarget("p", 8080, "/metrics", {}))
    got = "not applicable" if caught.type is pytest.skip.Exception else "failed"
    assert got == outcome, str(caught.value)
