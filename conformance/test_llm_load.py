"""Token-level latency under open-loop load: TTFT, ITL, TPOT, goodput, per generative service.

For an LLM a request's latency says little: users feel the time to the first token and the time
between tokens, operators buy tokens per second at a service level. Streaming completions (or chat)
requests are sent open loop at a constant rate or with Poisson arrivals, each figure is measured
from the request's intended send time (``load/llm/metrics.py`` states the definitions, and every
``summary.json`` carries them), and the run is judged: invalid when the generator lagged (send or
receive side), failed when the stream was not a stream (buffered, usage missing or impossible),
failed when the error rate or goodput broke their bounds, each named with exact counts.
"""

from __future__ import annotations

import json

import allure
import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.fixtures import load_runs, metrics_steps
from kserve_conformance.fixtures.owned import DeployedService, ServedModel
from kserve_conformance.load.llm import server_ttft
from kserve_conformance.load.llm.reports import summary, write_all
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.runner import run_llm_load
from kserve_conformance.load.llm.slo import assert_met, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec
from kserve_conformance.load.llm.sweep import sweep
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.reporting.evidence import attach_llm_load
from kserve_conformance.reporting.progress import progress

# InferenceServices only: an LLMInferenceService's vLLM is the same server llm-vllm's load measures,
# and a second load (30 s of streams, --kserve-llm-load-duration, plus the drain) would cost every
# run that time again; its streaming through the gateway is judged by the openai streaming checks.
pytestmark = [pytest.mark.llm_load, pytest.mark.services(protocol="openai", kind="InferenceService")]


@conformance(
    "LLMLoadSLO",
    "Open-loop streaming load meets the TTFT, TPOT, error-rate and goodput thresholds.",
    spec='OpenAI API, stream: "If set, tokens will be sent as data-only [server-sent events]" "as they become '
    'available, with the stream terminated by a `data: [DONE]` message."',
    level=EXTENDED,
    features=(Feature.LOAD, Feature.OPENAI_STREAMING),
)
def test_llm_load_meets_slo(
    request: pytest.FixtureRequest,
    kserve_service: ServedModel,
    kserve_openai: OpenAIPlane,
    kserve_server_pid: int | None,
) -> None:
    config = request.config
    say = progress(config)
    spec, slo = load_runs.llm_spec(config, kserve_service, kserve_openai), load_runs.llm_slo(config)
    out_dir = suite_config.of(config).report_dir / "llm-load" / kserve_service.entry.id
    request.node.user_properties.append(("kserve-conformance.llm-load-rate", f"{spec.rate:g}"))
    if not suite_config.of(config).llm.sweep:
        # Only a deployed service has pods to scrape (not --kserve-endpoint, not a bare server).
        deployed = isinstance(kserve_service, DeployedService)
        cluster = request.getfixturevalue("kserve_cluster") if deployed else None
        kubectl = config.getoption("kind_kubectl_bin")
        with metrics_steps.ttft_window(kserve_service, cluster, kubectl) as window:
            with allure.step(f"Stream POST {spec.url} at {spec.rate:g}/s ({spec.arrival}) for {spec.duration_s:g}s"):
                result = run_llm_load(spec, say, server_pid=kserve_server_pid)
            server = window.beside(result)
        judgement = judge(result, slo)
        files = write_all(result, slo, judgement, out_dir, f"{kserve_service.entry.id}: {spec.rate:g} streams/s")
        attach_llm_load(files, "llm-load")
        if server is not None:  # the server's own TTFT beside the client's: the gap is what the path adds
            (out_dir / "server-ttft.json").write_text(json.dumps(server, indent=2) + "\n")
            allure.attach(json.dumps(server, indent=2), "server-ttft", allure.attachment_type.JSON)
            say(f"llm-load {kserve_service.entry.id}: {server_ttft.line(server)}")
        elif window.why_not:
            say(f"llm-load {kserve_service.entry.id}: no server TTFT beside the client's: {window.why_not}")
        say(
            f"llm-load {kserve_service.entry.id}: {result.ok}/{result.sent} ok, "
            f"TTFT p99 {result.ms('ttft', 99):.3f}ms, "
            f"{result.output_tokens_per_s:.1f} tokens/s → {out_dir}"
        )
        assert_met(result, judgement)
        return

    def step(at: LLMLoadSpec, rate: float) -> LLMResult:
        where = out_dir / f"rate-{rate:g}"
        with allure.step(f"Stream POST {at.url} at {rate:g}/s for {at.duration_s:g}s"):
            result = run_llm_load(at, say, server_pid=kserve_server_pid)
        files = write_all(result, slo, judge(result, slo), where, f"{kserve_service.entry.id}: {rate:g} streams/s")
        attach_llm_load(files, f"{rate:g}/s")
        return result

    found = sweep(spec, slo, suite_config.of(config).llm.sweep_steps, step)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps(found.as_json(), indent=2) + "\n")
    allure.attach(json.dumps(found.as_json(), indent=2), name="sweep", attachment_type=allure.attachment_type.JSON)
    best = found.best
    say(
        f"llm-load sweep {kserve_service.entry.id}: highest rate meeting the SLOs "
        f"{best.rate if best else 'none'}, {best.result.output_tokens_per_s if best else 0:.1f} tokens/s there; "
        f"stopped by {found.stopped_by}"
    )
    if best is not None:
        (out_dir / "summary.json").write_text(json.dumps(summary(best.result, slo, best.judgement), indent=2) + "\n")
        return
    first = found.steps[0]  # not even the first rate met the SLOs: its judgement is the verdict
    assert_met(first.result, first.judgement)
