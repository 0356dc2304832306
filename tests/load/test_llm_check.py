"""The LLMLoadSLO check function itself, run against the known stream target as an openai service.

This drives its function directly with a hand-built ``ServedModel`` and ``OpenAIPlane`` and this
session's configuration (shortened), so its spec building, reports, sweep and verdict paths run
quickly and in one process; ``tests/controls/test_llm_load_controls.py`` runs it through the suite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kserve_conformance.checks.catalog import ServiceEntry
from kserve_conformance.conformance import test_llm_load as check
from kserve_conformance.dataplane.openai import OpenAIPlane
from kserve_conformance.dataplane.openai_checks import openai_base
from kserve_conformance.dataplane.rest import DataPlane
from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import known_target

pytestmark = pytest.mark.serial


@pytest.fixture
def short_run(pytestconfig: pytest.Config, tmp_path: Path) -> Iterator[pytest.Config]:
    """This session's suite configuration, with a 2 s LLM load at 10 streams/s into ``tmp_path``.

    The lag bound is raised: these tests follow the check's paths, not its timing, on a shared machine.
    """
    before = suite_config.of(pytestconfig)
    llm = replace(before.llm, rate=10.0, duration_s=2.0)
    load = replace(before.load, max_lag_ms=1000.0)
    pytestconfig.stash[suite_config.KEY] = replace(before, llm=llm, load=load, report_dir=tmp_path)
    yield pytestconfig
    pytestconfig.stash[suite_config.KEY] = before


def served(base: str) -> tuple[ServedModel, OpenAIPlane]:
    entry = ServiceEntry("known-llm", "the known stream target", Path("-"), "openai", "known", Path("-"))
    model = ServedModel(entry, "known", DataPlane(base, None), mode="endpoint", consistency_s=5.0)
    return model, OpenAIPlane(model.dataplane, "", "known")


def test_the_check_passes_a_healthy_stream_and_writes_its_reports(
    request: pytest.FixtureRequest, short_run: pytest.Config, tmp_path: Path
) -> None:
    with known_target(Timing()) as base:
        model, plane = served(base)
        assert openai_base(plane) == base
        check.test_llm_load_meets_slo(request, model, plane, None)
    out = tmp_path / "llm-load" / "known-llm"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "passed", summary["violations"] + summary["invalid"]
    assert summary["requests"]["sent"] == 20 and summary["output_tokens"] == 20 * 32
    assert len((out / "requests.jsonl").read_text().splitlines()) == 20


def test_the_check_fails_a_buffered_stream_naming_it(request: pytest.FixtureRequest, short_run: pytest.Config) -> None:
    with known_target(Timing(buffer=True)) as base, pytest.raises(AssertionError) as failed:
        check.test_llm_load_meets_slo(request, *served(base), None)
    # Every stream was a burst; any read as the client woke from a stall is counted apart, not as evidence.
    assert re.search(r"\b([2-9]|1\d|20) of 20 streams were buffered, not streamed", str(failed.value)), str(
        failed.value
    )[:2000]


def test_the_sweep_reports_the_highest_rate_meeting_the_slos(
    request: pytest.FixtureRequest, short_run: pytest.Config, tmp_path: Path
) -> None:
    suite = suite_config.of(short_run)
    short_run.stash[suite_config.KEY] = replace(suite, llm=replace(suite.llm, sweep=True, sweep_steps=2, rate=5.0))
    with known_target(Timing()) as base:
        check.test_llm_load_meets_slo(request, *served(base), None)
    sweep = json.loads((tmp_path / "llm-load" / "known-llm" / "sweep.json").read_text())
    assert [s["rate"] for s in sweep["steps"]] == [5.0, 10.0]
    passed = [s["rate"] for s in sweep["steps"] if s["verdict"] == "passed"]
    assert sweep["highest_rate_meeting_slos"] == (passed[-1] if passed else None)
    last = sweep["steps"][-1]
    expected = "the step limit" if last["verdict"] == "passed" else f"at {last['rate']:g}/s"
    assert expected in sweep["stopped_by"], sweep["stopped_by"]
    for rate in ("5", "10"):
        assert (tmp_path / "llm-load" / "known-llm" / f"rate-{rate}" / "summary.json").is_file()
