"""Latency and error-rate under load: the walk-through's step 6 (docs/walkthrough.md) as a check with
thresholds and exact counts.

The tutorial runs vegeta at 500 req/s for a minute and a person reads the report, where one 502
in 30,000 still prints "Success 100.00%". Here an open-loop generator in its own process sends
the same request at a constant rate, and the run is judged against named thresholds: any
failure message carries the counts per status code and per error, the percentiles, and which
threshold broke. A run whose generator could not keep its schedule is reported invalid, and so is
one whose latency broke a bound only through requests during which the target's own processes
waited for a CPU (the local target shares the client's machine: a busy machine is not a slow target).
"""

from __future__ import annotations

import allure
import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, invalid_measurement, not_applicable
from kserve_conformance.fixtures import load_runs
from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.load.reports import vegeta_text, write_all
from kserve_conformance.load.runner import run_load
from kserve_conformance.load.slo import judge
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.providers.base import LoadRate
from kserve_conformance.reporting.progress import progress

pytestmark = pytest.mark.load


@conformance(
    "LoadSLO",
    "Open-loop constant-rate load (default 500 req/s for 60 s, as the walk-through's step 6) meets "
    "the latency and error-rate thresholds.",
    level=EXTENDED,
    features=(Feature.LOAD,),
)
def test_load_meets_slo(
    request: pytest.FixtureRequest,
    kserve_service: ServedModel,
    kserve_load_rate: LoadRate,
    kserve_server_pid: int | None,
) -> None:
    config = request.config
    if "load" not in kserve_service.entry.payloads:
        not_applicable(
            f"{kserve_service.entry.id} ({kserve_service.entry.protocol}) has no load request: this check sends "
            "one V1/V2 request at a constant rate; generative services need token-level load"
        )
    kserve_service.settle()
    spec, slo = load_runs.load_spec(config, kserve_service, kserve_load_rate), load_runs.slo_from(config)
    request.node.user_properties.append(("kserve-conformance.load-rate", f"{spec.rate:g} ({kserve_load_rate.why})"))
    with allure.step(f"Load {spec.target.method} {spec.target.url} at {spec.rate:g}/s for {spec.duration_s:g}s"):
        result = run_load(spec, progress(config), kserve_server_pid)
    judgement = judge(result, slo)
    out_dir = suite_config.of(config).report_dir / "load" / kserve_service.entry.id
    files = write_all(result, slo, judgement, out_dir, f"{kserve_service.entry.id}: {spec.rate:g} req/s")
    allure.attach(vegeta_text(result), name="vegeta report", attachment_type=allure.attachment_type.TEXT)
    allure.attach.file(files["latency.png"], name="latency", attachment_type=allure.attachment_type.PNG)
    allure.attach.file(files["summary.json"], name="summary", attachment_type=allure.attachment_type.JSON)
    progress(config)(
        f"load {kserve_service.entry.id}: {result.successes}/{result.requests} ok, "
        f"p99 {result.latency_us(99) / 1000:.3f}ms → {out_dir}"
    )
    if judgement.invalid:
        invalid_measurement(f"{'; '.join(judgement.invalid)} | measured: {result.summary()}")
    assert judgement.passed, f"{'; '.join(judgement.violations)} | measured: {result.summary()}"
