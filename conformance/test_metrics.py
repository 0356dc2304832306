"""Model-server metrics: where KServe says they are, the documented series, figures that agree with the traffic.

Each service's Ready model pods are scraped where their ``prometheus.kserve.io/port|path``
annotations say (the runtime's, copied by KServe), through a port-forward, and summed over pods.
What each runtime documents is ``conformance/data/metrics-series.yaml``. The counting checks
scrape immediately before and after a burst the suite sends and counts; growth beyond the burst
is another client's traffic, which the suite cannot tell apart, so it is an invalid measurement,
never a failure; growth short of the burst is a counter that misses requests, and fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import allure
import pytest

from kserve_conformance.checks import catalog
from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable, not_supported
from kserve_conformance.dataplane.metrics import Count, count, growing_labels, growth, nearest_bound, resolves
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.fixtures import metrics_steps as steps
from kserve_conformance.fixtures.owned import DeployedService, ServedModel
from kserve_conformance.plugin import config as suite_config

BURST = 20  # requests per counted burst (V1, V2)
LLM_BURST = 6  # completions per counted burst (OpenAI), each a few tokens
SCRAPING = "serving.kserve.io/enable-prometheus-scraping"


@pytest.fixture(scope="module")
def kserve_model_metrics(
    request: pytest.FixtureRequest, kserve_service_entry: catalog.ServiceEntry
) -> Iterator[steps.ModelMetrics]:
    if kserve_service_entry.kind != "InferenceService":
        not_applicable(
            f"{kserve_service_entry.id} is an {kserve_service_entry.kind}: the metrics checks scrape an "
            "InferenceService's model pods where KServe's prometheus.kserve.io annotations say"
        )
    kserve_service: ServedModel = request.getfixturevalue("kserve_service")
    if not isinstance(kserve_service, DeployedService):
        not_applicable("--kserve-endpoint: there are no pods whose annotations say where the metrics are")
    kserve_service.settle()
    cluster = request.getfixturevalue("kserve_cluster")
    with steps.model_metrics(kserve_service, cluster, request.config.getoption("kind_kubectl_bin")) as metrics:
        yield metrics


@conformance(
    "MetricsEndpoint",
    "Every model pod says where its model server's metrics are (prometheus.kserve.io/port|path), and a GET there "
    "answers 200 in the Prometheus text format.",
    spec='"All supported serving runtimes support exporting prometheus metrics on a specified port in the inference '
    "service's pod.\" (KServe, Prometheus Metrics)",
    level=EXTENDED,
    features=(Feature.METRICS,),
)
def test_metrics_endpoint(kserve_model_metrics: steps.ModelMetrics) -> None:
    """``prometheus.io/port|path`` are not judged here: KServe's pod mutator points them at queue-proxy's
    port (9091, 9088 with aggregation) in every deployment mode, also where no queue-proxy runs
    (``metrics_aggregate_injector.go``). Whether a monitoring system finds the metrics is
    MonitoringSeesTraffic's question, asked of the monitoring system itself."""
    scrape = kserve_model_metrics.scrape()
    with allure.step(f"scraped {', '.join(scrape.pods)}"):
        allure.attach(next(iter(scrape.texts.values()))[:20000], "metrics", allure.attachment_type.TEXT)
    for target in kserve_model_metrics.targets:
        shown = {k: v for k, v in target.annotations.items() if k.startswith("prometheus.io/") or k == SCRAPING}
        allure.attach(str(shown), f"{target.pod}: scraping annotations", allure.attachment_type.TEXT)
    assert scrape.snapshot.samples, f"the metrics of {', '.join(scrape.pods)} hold no sample at all"


@conformance(
    "MetricsSeries",
    "After a request, every series the runtime documents has a sample labelled with the served model's name.",
    spec='"Prometheus latency histograms are emitted for each of the steps (pre/postprocessing, explain, predict)." '
    '(KServe, Prometheus Metrics); "In vLLM, we add a `model_name` label to every metric which includes the name of '
    'the model served by that instance." (vLLM, Metrics design)',
    level=EXTENDED,
    features=(Feature.METRICS,),
)
def test_metrics_series(
    kserve_model_metrics: steps.ModelMetrics, kserve_openai_if_generative: OpenAIPlane | None
) -> None:
    documented = steps.runtime_documents(kserve_model_metrics)
    if not documented.series:
        not_applicable(f"{documented.runtime}: {documented.source}")
    service = kserve_model_metrics.service
    steps.all_answered(steps.burst(service, 1, kserve_openai_if_generative), 1)
    label = {documented.model_label: service.name}
    scrape = steps.settled(
        kserve_model_metrics, lambda s: all(s.snapshot.matching(n, label) for n in documented.series)
    )
    missing = [n for n in documented.series if not scrape.snapshot.matching(n, label)]
    missing += [f"{n} (family)" for n in documented.declared if n not in scrape.snapshot.types]
    exported = sorted(n for n in scrape.snapshot.names() if not n.startswith(("python_", "process_")))
    assert not missing, (
        f"{documented.server}: documented series missing for {documented.model_label}={service.name!r}: "
        f"{', '.join(missing)} (exported: {', '.join(exported[:15]) or 'only python_/process_ series'})"
    )


@conformance(
    "MetricsCounts",
    f"After a burst of {BURST} requests ({LLM_BURST} completions) the suite counts, the runtime's request counter "
    "for the served model grew by exactly that many.",
    spec='"A histogram samples observations (usually things like request durations or response sizes) and counts '
    'them in configurable buckets." (Prometheus, Metric types); "request_predict_seconds | prediction request '
    'latency | Histogram" (KServe, Prometheus Metrics)',
    level=EXTENDED,
    features=(Feature.METRICS,),
)
def test_metrics_counts(
    kserve_model_metrics: steps.ModelMetrics, kserve_openai_if_generative: OpenAIPlane | None
) -> None:
    documented = steps.runtime_documents(kserve_model_metrics)
    if documented.requests is None:
        not_applicable(f"{documented.runtime} documents no request counter ({documented.source})")
    counter, service = documented.requests, kserve_model_metrics.service
    label = {documented.model_label: service.name}
    n = LLM_BURST if kserve_openai_if_generative is not None else BURST
    before = kserve_model_metrics.scrape()
    sent = steps.burst(service, n, kserve_openai_if_generative)
    steps.all_answered(sent, n)
    after = steps.settled(
        kserve_model_metrics, lambda s: (growth(before.snapshot, s.snapshot, counter, label) or 0) >= n
    )
    steps.same_pods(before, after)
    grew = growth(before.snapshot, after.snapshot, counter, label)
    verdict = count(grew, n)
    assert verdict is not Count.ABSENT, f"no {counter}{{{documented.model_label}={service.name!r}}} after {n} requests"
    assert grew is not None
    if verdict is Count.SURPLUS:
        invalid_measurement(
            f"{counter} grew by {grew:g} for the {n} requests the suite sent: another client's requests in between "
            "cannot be told apart from the suite's"
        )
    assert verdict is Count.EXACT, (
        f"{counter}{{{documented.model_label}={service.name!r}}} grew by {grew:g} for {n} answered requests: "
        f"the counter misses {n - grew:g} of them"
    )


@pytest.mark.services(protocol="openai")
@conformance(
    "MetricsTokenCounts",
    f"After {LLM_BURST} streamed completions, the prompt and generation token counters grew by the tokens their "
    "usage reports, and the time-to-first-token histogram counted each stream.",
    spec='"`vllm:prompt_tokens_total` (Counter) - Total number of prompt tokens processed." "`vllm:generation_tokens_'
    'total` (Counter) - Total number of generated tokens." "`vllm:time_to_first_token_seconds` (Histogram) - Time to '
    'first token (TTFT)." (vLLM, Metrics design)',
    level=EXTENDED,
    features=(Feature.METRICS, Feature.OPENAI_USAGE),
)
def test_metrics_token_counts(
    kserve_model_metrics: steps.ModelMetrics, kserve_openai_if_generative: OpenAIPlane | None
) -> None:
    documented = steps.runtime_documents(kserve_model_metrics)
    if not (documented.prompt_tokens and documented.generation_tokens and documented.ttft):
        not_applicable(f"{documented.runtime} documents no token counters ({documented.source})")
    assert kserve_openai_if_generative is not None
    service = kserve_model_metrics.service
    label = {documented.model_label: service.name}
    counted = f"{documented.ttft}_count"
    before = kserve_model_metrics.scrape()
    sent = steps.streams(kserve_openai_if_generative, service.entry.payloads["completion"]["request"], LLM_BURST)
    steps.all_answered(sent, LLM_BURST)
    if sent.without_usage:
        not_supported(Feature.OPENAI_USAGE, f"{sent.without_usage} of {LLM_BURST} streams carried no usage chunk")
    expected = {
        documented.prompt_tokens: sent.prompt_tokens,
        documented.generation_tokens: sent.completion_tokens,
        counted: LLM_BURST,
    }

    def grown(scrape: steps.Scrape) -> dict[str, float | None]:
        return {name: growth(before.snapshot, scrape.snapshot, name, label) for name in expected}

    after = steps.settled(kserve_model_metrics, lambda s: all((g or 0) >= expected[k] for k, g in grown(s).items()))
    steps.same_pods(before, after)
    figures = grown(after)
    verdicts = {name: count(figures[name], want) for name, want in expected.items()}
    absent = [name for name, v in verdicts.items() if v is Count.ABSENT]
    assert not absent, f"no {', '.join(absent)} for {documented.model_label}={service.name!r} after {LLM_BURST} streams"
    said = ", ".join(f"{name} +{figures[name]:g} (sent {want})" for name, want in expected.items())
    if Count.SHORT not in verdicts.values() and Count.SURPLUS in verdicts.values():
        invalid_measurement(f"{said}: more than the suite sent; another client's requests cannot be told apart")
    assert all(v is Count.EXACT for v in verdicts.values()), f"counters disagree with the streams' usage: {said}"


@conformance(
    "MetricsCardinality",
    f"No label gains a new value with (almost) every request: over a burst of {BURST} requests ({LLM_BURST} "
    "completions), no label of any series gains half as many new values as requests were sent.",
    spec='"Remember that every unique combination of key-value label pairs represents a new time series, which can '
    "dramatically increase the amount of data stored. Do not use labels to store dimensions with high cardinality "
    '(many different label values), such as user IDs, email addresses, or other unbounded sets of values." '
    "(Prometheus, Metric and label naming)",
    level=EXTENDED,
    features=(Feature.METRICS,),
)
def test_metrics_cardinality(
    kserve_model_metrics: steps.ModelMetrics, kserve_openai_if_generative: OpenAIPlane | None
) -> None:
    service = kserve_model_metrics.service
    n = LLM_BURST if kserve_openai_if_generative is not None else BURST
    steps.all_answered(steps.burst(service, 1, kserve_openai_if_generative), 1)  # first-use series exist before
    before = kserve_model_metrics.scrape()
    steps.all_answered(steps.burst(service, n, kserve_openai_if_generative), n)
    after = kserve_model_metrics.scrape()
    steps.same_pods(before, after)
    growing = growing_labels(before.snapshot, after.snapshot, n)
    assert not growing, "labels that grow with the requests (a new series per request): " + "; ".join(
        f"{g.label} of {g.sample} gained {g.count} values over {n} requests (e.g. {', '.join(g.new_values)})"
        for g in growing[:3]
    )


@conformance(
    "MetricsBuckets",
    "The runtime's latency histograms have a bucket bound within a factor of 1.5 of each threshold the run judges "
    "latency by (--kserve-slo-p99-ms, -p50-ms, -max-ms; TTFT and TPOT for generative services), so a histogram "
    "quantile can tell a met threshold from a missed one.",
    spec='"Histogram: a count of metric samples, recorded in buckets. For example, the number of requests whose TTFT '
    'was <1ms, <5ms, <10ms, <20ms, and so on." (vLLM, Metrics design)',
    level=EXTENDED,
    features=(Feature.METRICS,),
)
def test_metrics_buckets(
    request: pytest.FixtureRequest,
    kserve_model_metrics: steps.ModelMetrics,
    kserve_openai_if_generative: OpenAIPlane | None,
) -> None:
    documented = steps.runtime_documents(kserve_model_metrics)
    suite = suite_config.of(request.config)
    if kserve_openai_if_generative is not None:
        wanted = [("TTFT", documented.ttft, suite.llm.slo_ttft_ms), ("TPOT", documented.tpot, suite.llm.slo_tpot_ms)]
    else:
        limits = suite.thresholds
        wanted = [
            (f"{k} latency", documented.latency, ms)
            for k, ms in (("p99", limits.p99_ms), ("p50", limits.p50_ms), ("max", limits.max_ms))
        ]
    checked = [(what, hist, ms) for what, hist, ms in wanted if hist and ms]
    if not checked:
        not_applicable(f"{documented.runtime} documents no histogram for this run's thresholds ({documented.source})")
    service = kserve_model_metrics.service
    steps.all_answered(steps.burst(service, 1, kserve_openai_if_generative), 1)
    label = {documented.model_label: service.name}
    scrape = steps.settled(
        kserve_model_metrics, lambda s: all(s.snapshot.bucket_bounds(h, label) for _, h, _ in checked)
    )
    problems = []
    for what, histogram, ms in checked:
        assert histogram is not None and ms is not None
        bounds = scrape.snapshot.bucket_bounds(histogram, label)
        if not bounds:
            problems.append(f"{histogram} has no buckets for {documented.model_label}={service.name!r}")
        elif not resolves(bounds, ms / 1000):
            problems.append(
                f"{histogram} cannot resolve the {what} threshold {ms:g} ms: nearest bucket bound "
                f"{nearest_bound(bounds, ms / 1000):g} s (bounds {', '.join(f'{b:g}' for b in bounds)})"
            )
    assert not problems, "; ".join(problems)
