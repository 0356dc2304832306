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
from pathlib import Path

import allure
import pytest

from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.load.llm.reports import summary, write_all
from kserve_conformance.load.llm.results import LLMResult
from kserve_conformance.load.llm.runner import run_llm_load
from kserve_conformance.load.llm.slo import LLMSLO, judge
from kserve_conformance.load.llm.spec import LLMLoadSpec, Prompts
from kserve_conformance.load.llm.sweep import sweep
from kserve_conformance.load.slo import Judgement
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.reporting.progress import progress

pytestmark = [pytest.mark.llm_load, pytest.mark.services(protocol="openai")]


def openai_base(kserve_openai: OpenAIPlane) -> str:
    """Where the server's OpenAI routes live, up to ``/v1``: the data plane's base, then the prefix
    the ``kserve_openai`` fixture detected (or ``--kserve-openai-prefix`` gave)."""
    dataplane = kserve_openai.dataplane
    return f"{dataplane.base_url}{dataplane.path_prefix}{kserve_openai.prefix}"


def llm_spec(config: pytest.Config, kserve_service: ServedModel, kserve_openai: OpenAIPlane) -> LLMLoadSpec:
    suite = suite_config.of(config)
    o = suite.llm
    prompts = Prompts.load(o.prompts.read_text() if o.prompts else None)
    headers = {"Host": kserve_service.dataplane.host} if kserve_service.dataplane.host else {}
    return LLMLoadSpec(
        base_url=openai_base(kserve_openai),
        model=kserve_openai.model,
        rate=o.rate,
        duration_s=o.duration_s,
        kind=o.kind,
        arrival=o.arrival,
        seed=o.seed,
        workers=suite.load.workers,
        timeout_s=o.timeout_s,
        max_tokens=prompts.max_tokens,
        prompts=prompts.prompts,
        ignore_eos=o.ignore_eos,
        headers=headers,
        tokenizer=str(o.tokenizer) if o.tokenizer else None,
    )


def llm_slo(config: pytest.Config) -> LLMSLO:
    suite = suite_config.of(config)
    o = suite.llm
    return LLMSLO(
        ttft_ms=o.slo_ttft_ms,
        tpot_ms=o.slo_tpot_ms,
        error_rate=suite.thresholds.error_rate,
        goodput=o.slo_goodput,
        max_lag_ms=suite.load.max_lag_ms,
    )


def verdict(result: LLMResult, judgement: Judgement) -> None:
    """Fail with what broke (invalid first: an invalid run is not judged against the SLOs)."""
    if judgement.invalid:
        invalid_measurement(f"{'; '.join(judgement.invalid)} | measured: {result.summary_line()}")
    assert judgement.passed, f"{'; '.join(judgement.violations)} | measured: {result.summary_line()}"


def attach(files: dict[str, Path], name: str) -> None:
    allure.attach.file(files["llm-load.png"], name=f"{name} plots", attachment_type=allure.attachment_type.PNG)
    allure.attach.file(files["summary.json"], name=f"{name} summary", attachment_type=allure.attachment_type.JSON)


@conformance(
    "LLMLoadSLO",
    "If set, tokens will be sent as data-only server-sent events as they become available, with the "
    "stream terminated by a `data: [DONE]` message. (OpenAI API, stream); open-loop streaming load "
    "meets the TTFT, TPOT, error-rate and goodput thresholds.",
    level=EXTENDED,
    features=("Streaming",),
)
def test_llm_load_meets_slo(
    request: pytest.FixtureRequest, kserve_service: ServedModel, kserve_openai: OpenAIPlane
) -> None:
    config = request.config
    say = progress(config)
    spec, slo = llm_spec(config, kserve_service, kserve_openai), llm_slo(config)
    out_dir = suite_config.of(config).report_dir / "llm-load" / kserve_service.entry.id
    request.node.user_properties.append(("kserve-conformance.llm-load-rate", f"{spec.rate:g}"))
    if not suite_config.of(config).llm.sweep:
        with allure.step(f"Stream POST {spec.url} at {spec.rate:g}/s ({spec.arrival}) for {spec.duration_s:g}s"):
            result = run_llm_load(spec, say)
        judgement = judge(result, slo)
        files = write_all(result, slo, judgement, out_dir, f"{kserve_service.entry.id}: {spec.rate:g} streams/s")
        attach(files, "llm-load")
        say(
            f"llm-load {kserve_service.entry.id}: {result.ok}/{result.sent} ok, "
            f"TTFT p99 {result.ms('ttft', 99):.3f}ms, "
            f"{result.output_tokens_per_s:.1f} tokens/s → {out_dir}"
        )
        verdict(result, judgement)
        return

    def step(at: LLMLoadSpec, rate: float) -> LLMResult:
        where = out_dir / f"rate-{rate:g}"
        with allure.step(f"Stream POST {at.url} at {rate:g}/s for {at.duration_s:g}s"):
            result = run_llm_load(at, say)
        files = write_all(result, slo, judge(result, slo), where, f"{kserve_service.entry.id}: {rate:g} streams/s")
        attach(files, f"{rate:g}/s")
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
    verdict(first.result, first.judgement)
