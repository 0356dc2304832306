"""A check's own limits are never the server's fault: the openai family against answers of odd shape.

The openai checks build their probes from the model's own answers, and tiny models answer
repetitively (``' and and and'``, ``'::::'``) or not at all. Against ``tests/fakes/openai_model.py``,
a correct server whose model answers in exactly such a shape, the family runs in data-plane mode
and the conformance report must show: a repetitive answer still gives every check its probe
(CompletionStop stops at the first ``' and'``, expecting an empty text); an empty answer makes the
checks that probe it *not applicable* with the reason, and fails none, since the reference makes an
empty answer no defect (a model may end at once: "`stop` if the model hit a natural stop point").
The stop check's own control runs here too: a server that ignores the stop string fails it on the
empty expected text, so that probe can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.controls.runner import run_suite
from tests.fakes.openai_model import FakeOpenAI, Model, generate

MODEL = "shaped"
SHAPES = {
    "repeats-word": Model(MODEL, " and"),
    "repeats-colon": Model(MODEL, ":"),
    "empty": Model(MODEL, ""),
    "ignores-stop": Model(MODEL, " and", ignore_stop=True),
}
Report = dict[str, dict[str, Any]]  # check name -> its entry in the conformance report


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Report]:
    """The suite against the fake with a model of the shape named, ``-k`` as given; one run each."""
    cache: dict[tuple[str, str], Report] = {}

    def run(shape: str, select: str = "openai") -> Report:
        if (shape, select) not in cache:
            tmp = tmp_path_factory.mktemp(shape)
            with FakeOpenAI(SHAPES[shape]) as server:
                result = run_suite(
                    tmp,
                    f"--kserve-endpoint={server.url}",
                    "--kserve-protocol=openai",
                    f"--kserve-model-name={MODEL}",
                    "--kserve-consistency-timeout=10",
                    "-k",
                    select,
                )
            path = result.report_dir / "conformance-report.yaml"
            assert path.exists(), result.output[-3000:]
            checks = yaml.safe_load(path.read_text())["checks"]
            cache[shape, select] = {c["name"]: c for c in checks}
        return cache[shape, select]

    return run


def failures(report: Report) -> dict[str, str]:
    return {name: c["message"][:300] for name, c in report.items() if c["outcome"] in ("failed", "error", "invalid")}


@pytest.mark.serial  # the family includes StreamIncremental, which judges arrival times
@pytest.mark.parametrize("shape", ["repeats-word", "repeats-colon"])
def test_a_repetitive_answer_still_gives_every_check_its_probe(runs: Callable[[str, str], Report], shape: str) -> None:
    report = runs(shape, "openai")
    assert not failures(report), failures(report)
    stop = report["CompletionStop"]
    assert [i["outcome"] for i in stop["items"]] == ["passed", "passed"], stop
    core = {name: c["outcome"] for name, c in report.items() if c["level"] == "core"}
    assert set(core.values()) == {"passed"}, core


def test_an_empty_answer_leaves_the_probes_not_applicable_and_fails_nothing(
    runs: Callable[[str, str], Report],
) -> None:
    report = runs("empty", "openai")
    stop = report["CompletionStop"]
    assert [i["outcome"] for i in stop["items"]] == ["not-applicable", "not-applicable"], stop
    assert "the model's temperature-0 answer is empty: no stop string can be taken from it" in stop["message"]
    max_tokens = report["CompletionMaxTokens"]
    assert max_tokens["outcome"] == "not-applicable" and "too short for max_tokens to cut" in max_tokens["message"]
    failed = failures(report)
    # StreamIncremental has no content event to time: its own limit, which it must not blame on the
    # server. Until its rework (in progress) reports that as not applicable, it fails saying so.
    incremental = failed.pop("StreamIncremental", "nothing to judge arrival by")
    assert "nothing to judge arrival by" in incremental, incremental
    assert not failed, failed


def test_a_server_that_ignores_the_stop_string_fails_the_check_on_an_empty_expected_text(
    runs: Callable[[str, str], Report],
) -> None:
    stop = runs("ignores-stop", "test_completion_stop")["CompletionStop"]
    assert stop["outcome"] == "failed", stop
    assert "stop ' and': the returned text ' and and" in stop["message"], stop["message"]
    assert "contains the stop sequence" in stop["message"], stop["message"]


def test_the_fake_cuts_at_a_stop_string_first_occurrence_and_at_max_tokens() -> None:
    """The fake's own rules, directly, so a verdict against it is about the check."""
    assert generate(SHAPES["repeats-word"], 4, []).text == " and and and and"
    assert generate(SHAPES["repeats-word"], 4, []).finish_reason == "length"
    cut = generate(Model(MODEL, "ab"), 4, ["ba"])
    assert (cut.text, cut.pieces, cut.finish_reason, cut.completion_tokens) == ("a", ("a",), "stop", 2)
    assert generate(SHAPES["empty"], 16, []).finish_reason == "stop"
