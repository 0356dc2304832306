"""Every conformance check fails against a local target broken in exactly its way.

Each fault is one defect a real deployment can have; the suite runs end to end against a target
with that defect and the check that owns the rule must fail, with a message that names it. The
other checks are run too, so a fault that breaks more than it should shows up here as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ISVC_CRD
from tests.controls.runner import Run, run_suite

BASE = (
    "--kserve-services=sklearn-iris",
    "--kserve-ready-timeout=30",
    "--kserve-consistency-timeout=10",
    f"--kserve-local-crd={ISVC_CRD}",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """One suite run per fault, shared by the assertions about it."""
    cache: dict[str, Run] = {}

    def run(*faults: str, extra: tuple[str, ...] = ()) -> Run:
        key = " ".join(faults + extra)
        if key not in cache:
            tmp = tmp_path_factory.mktemp("run")
            cache[key] = run_suite(tmp, *BASE, *extra, *(f"--kserve-local-fault={f}" for f in faults))
        return cache[key]

    return run  # type: ignore[return-value]


def test_healthy_target_passes_every_check(runs) -> None:
    run = runs()
    assert run.returncode == 0, run.output[-4000:]
    assert run.verdicts and all(v.outcome in ("passed", "skipped") for v in run.verdicts.values()), run.verdicts


# Faults joined by "+" share one suite run: the status faults break different fields of the same
# object (URL host, address, traffic, one condition) and form-body-415 one data-plane request, so
# each check still fails for its own defect, and CI starts one target instead of five.
STATUS = "wrong-url-host+wrong-address+split-traffic+missing-condition=RoutesReady+form-body-415"
# KServe's operator side rides along: each breaks one webhook or the controller pod, which no other check reads.
STATUS += "+webhook-admits-invalid+webhook-no-defaults+controller-not-ready"
# The model server's metric defects ride on its wrong predictions: each breaks one thing the metrics
# checks read (the predict histogram undercounts, keys by request and has one bucket; the preprocess
# histogram is gone), and the predictions the metrics checks send are counted, not judged.
MODEL = "wrong-prediction+metrics-undercount+metrics-request-id-label+metrics-coarse-buckets+metrics-missing-series"
# Pods without the prometheus.io scrape annotations ride along: Prometheus drops them before it would
# count anything, and the metrics checks read the pods' prometheus.kserve.io annotations instead.
MODEL += "+no-prometheus-annotations"
# The pods' metrics path, wrong, is the controller's: it rides with the status faults, which no metrics check reads.
STATUS += "+metrics-endpoint-404"
CONTROLS = [
    # (faults joined by "+", check by short name [and case], words the failure must contain)
    (MODEL, "PredictTutorial", "expected exactly {'predictions': [1, 1]}"),
    (MODEL, "PredictClasses", "expected [0]"),
    (MODEL, "MetricsCounts", "the counter misses 4 of them"),
    (MODEL, "MetricsCardinality", "request_id of request_predict_seconds"),
    (MODEL, "MetricsBuckets", "cannot resolve the p99 latency threshold 100 ms"),
    (MODEL, "MetricsSeries", "series missing for model_name='sklearn-iris': request_preprocess_seconds_count"),
    (STATUS, "MetricsEndpoint", "answered 404"),
    (MODEL, "MonitoringSeesTraffic", "lacks the scrape annotations prometheus.io/scrape"),
    ("missing-condition", "ReadyConditions[IngressReady]", "condition IngressReady missing"),
    (STATUS, "KnativeConditions[RoutesReady]", "condition RoutesReady missing"),
    (STATUS, "StatusURL", "but Knative mode with this cluster's configuration gives"),
    (STATUS, "PredictWithoutContentType", "predict with curl's form content type answered"),
    (STATUS, "AddressURL", "svc.cluster.local"),
    (STATUS, "LatestRevisionTraffic", "does not get 100% of traffic"),
    (STATUS, "ValidatingWebhook[min-replicas-above-max]", "admitted an InferenceService with minReplicas 3 above"),
    (STATUS, "ValidatingWebhook[name-not-dns-1035]", "admitted an InferenceService with a name that is"),
    (STATUS, "DefaultingWebhook", "did not rewrite spec.predictor.sklearn into spec.predictor.model"),
    (STATUS, "ControllerReady", "KServe controller pod not Ready: kserve/kserve-controller-manager-local"),
    ("prune-spec", "ManifestAppliesVerbatim", "spec.predictor.model.storageUri was dropped"),
    ("ingress-404", "IngressRoutesHost", "404"),
    ("model-not-ready", "ModelReadyV1", "→ 503"),
    ("server-error", "PredictTutorial", "predict answered 500"),
]


@pytest.mark.parametrize(("fault", "check", "words"), CONTROLS, ids=[f"{f}-{c}" for f, c, _ in CONTROLS])
def test_check_fails_naming_the_defect(runs, fault: str, check: str, words: str) -> None:
    run = runs(*fault.split("+"))
    verdict = run.failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"
    assert run.returncode == 1, f"pytest exit code {run.returncode} for a failing run"


def test_never_ready_fails_with_conditions_and_diagnostics(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path, "--kserve-services=sklearn-iris", "--kserve-ready-timeout=20", "--kserve-local-fault=never-ready"
    )
    verdict = run.failed("StatusURL")
    assert "not Ready after 20s" in verdict.message and "IngressReady=False" in verdict.message, verdict.message
    diagnostics = list((run.report_dir / "diagnostics").glob("*/events.txt"))
    assert diagnostics, f"no diagnostics written under {run.report_dir}"
    assert "model server" in diagnostics[0].read_text()


@pytest.mark.generative
@pytest.mark.vllm
def test_vllm_token_undercount_fails_metrics_token_counts(tmp_path: Path) -> None:
    """vLLM's generation-token counter misses a token per engine step: the token counts disagree with the
    streams' usage, while the request counter still agrees (the fault breaks that one counter)."""
    run = run_suite(
        tmp_path,
        "--kserve-services=llm-vllm",
        "--kserve-ready-timeout=600",
        "--kserve-local-fault=metrics-token-undercount",
        "-k",
        "test_metrics_counts or test_metrics_token_counts",
    )
    verdict = run.failed("MetricsTokenCounts")
    assert "counters disagree with the streams' usage" in verdict.message, verdict.message
    assert "vllm:generation_tokens_total +0 (sent" in verdict.message, verdict.message
    assert all(v.outcome == "passed" for v in run.matching("MetricsCounts").values()), run.verdicts


def test_stale_generation_is_named_in_the_timeout(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        "--kserve-services=sklearn-iris",
        "--kserve-ready-timeout=8",
        "--kserve-local-fault=stale-generation",
        "-k",
        "observed_generation",
    )
    verdict = run.failed("ObservedGeneration")
    assert "status.observedGeneration 0 < metadata.generation 1" in verdict.message, verdict.message
