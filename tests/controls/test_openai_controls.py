"""OpenAI negative controls: each openai check fails against a server that breaks exactly its rule.

The suite runs in data-plane mode (``--kserve-endpoint --kserve-protocol openai``) against
``broken_openai.py``, a proxy in front of a healthy upstream (``tests/openai_servers.py``: the
local target's Hugging Face runtime) that applies named defects after repairing the upstream's own
known deviations. Defects joined by "+" share one suite run: each breaks a different check, so
every check still fails for its own defect, and a handful of runs cover every check. One more run,
with no defect, shows the repaired proxy passes every core check; it runs in the serial pass, as
StreamIncremental judges arrival times.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kserve_conformance.checks.features import Feature
from tests.controls.runner import Run, run_suite
from tests.openai_servers import Server, start_hf_standin

MODEL = "tiny"
PROXY = Path(__file__).with_name("broken_openai.py")

STREAMS = "no-done+changing-ids+wrong-model+usage-off-by-one+non-data-lines+stream-text-differs"
DELIVERY = "finish-every-chunk+buffer-stream+wrong-content-type+drop-usage-chunk+no-role"
REQUESTS = (
    "unknown-model-200+error-as-string+bad-request-500+ignore-max-tokens+include-stop"
    "+wrong-object+wrong-chunk-object+model-list-wrong+retrieve-wrong-id"
)
CLIENT = "random-text+unparseable-chunk"

# (defects, check by short name [and case], words its failure must contain)
CONTROLS = [
    (STREAMS, "StreamDone", "not data: [DONE]"),
    (STREAMS, "StreamSameId", "the chunks carry"),
    (STREAMS, "CompletionModelName", "the answer names 'other-model'"),
    (STREAMS, "CompletionUsage", "!= prompt_tokens"),
    (STREAMS, "StreamDataOnly", "the stream has non-data lines"),
    (STREAMS, "StreamMatchesNonStream", "differ from the non-streamed text"),
    (DELIVERY, "StreamFinishReason", "the model stops once"),
    (DELIVERY, "StreamIncremental", "delivered in one piece"),
    (DELIVERY, "StreamContentType", "not text/event-stream"),
    (DELIVERY, "StreamUsageChunk[completions]", "no usage chunk"),
    (DELIVERY, "StreamRole", "without role 'assistant'"),
    (REQUESTS, "UnknownModelStatus", "expected 404, got"),
    (REQUESTS, "UnknownModelBody", "was not refused"),
    (REQUESTS, "InvalidRequestStatus[negative-max-tokens]", "expected a 4xx for the client's bad request"),
    (REQUESTS, "InvalidRequestBody[missing-prompt]", "is not of type 'object'"),
    (REQUESTS, "CompletionMaxTokens", "max_tokens was not honoured"),
    (REQUESTS, "CompletionStop", "contains the stop sequence"),
    (REQUESTS, "CompletionSchema[completions]", "the answer is not a CreateCompletionResponse"),
    (REQUESTS, "StreamChunkObjects[chat]", "is not a CreateChatCompletionStreamResponse"),
    (REQUESTS, "ModelList", "is not a ListModelsResponse"),
    (REQUESTS, "ModelRetrieve", "the model object names 'other-model'"),
    (CLIENT, "CompletionDeterminism", "temperature-0 answers differ"),
    (CLIENT, "ClientParses[completion-stream]", "could not parse"),
]


class Proxy:
    def __init__(self, upstream: Server, defects: list[str], tmp: Path) -> None:
        port_file = tmp / "port"
        self.process = subprocess.Popen(
            [sys.executable, str(PROXY), upstream.url, upstream.prefix, upstream.name, str(port_file), *defects],
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "proxy.log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert self.process.poll() is None, (tmp / "proxy.log").read_text()
            assert time.monotonic() < deadline, "the control proxy did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Server]:
    server = start_hf_standin(MODEL)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runs(upstream: Server, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    cache: dict[str, Run] = {}

    def run(defects: str) -> Run:
        if defects not in cache:
            tmp = tmp_path_factory.mktemp("openai")
            proxy = Proxy(upstream, [d for d in defects.split("+") if d], tmp)
            try:
                cache[defects] = run_suite(
                    tmp,
                    f"--kserve-endpoint={proxy.url}",
                    "--kserve-protocol=openai",
                    f"--kserve-model-name={MODEL}",
                    "--kserve-consistency-timeout=30",
                    "-k",
                    "openai",
                )
            finally:
                proxy.stop()
        return cache[defects]

    return run


@pytest.mark.parametrize(("defects", "check", "words"), CONTROLS, ids=[c for _, c, _ in CONTROLS])
def test_openai_check_fails_naming_the_defect(runs: Callable[[str], Run], defects: str, check: str, words: str) -> None:
    verdict = runs(defects).failed(check)
    assert words in verdict.message, f"{check} failed, but not saying {words!r}:\n{verdict.message[:2000]}"


@pytest.mark.serial  # StreamIncremental judges arrival times: not beside three other suites
def test_the_repaired_proxy_passes_every_core_check(runs: Callable[[str], Run]) -> None:
    """No defect: every core openai check passes through the proxy, so each failure above is the defect's."""
    import yaml

    run = runs("")
    report = yaml.safe_load((run.report_dir / "conformance-report.yaml").read_text())
    openai_checks = [c for c in report["checks"] if Feature.OPENAI in c["features"]]
    core = [c for c in openai_checks if c["level"] == "core"]
    assert core and all(c["outcome"] == "passed" for c in core), {c["name"]: c["message"][:300] for c in core}
    controlled = {check.partition("[")[0] for _, check, _ in CONTROLS}
    assert controlled == {c["name"] for c in openai_checks}, "a control list must cover every openai check"
    failed = {c["name"]: c["message"][:300] for c in openai_checks if c["outcome"] == "failed"}
    # The one thing the proxy does not repair: KServe's chat stream has no usage chunk.
    assert set(failed) <= {"StreamUsageChunk"}, failed


@pytest.mark.parametrize(("prefix", "outcome"), [("/openai", "passed"), ("/nope", "error")])
def test_a_given_prefix_is_used_as_given(upstream: Server, tmp_path: Path, prefix: str, outcome: str) -> None:
    """--kserve-openai-prefix replaces detection: the right one passes, a wrong one is not silently corrected."""
    run = run_suite(
        tmp_path,
        f"--kserve-endpoint={upstream.url}",
        "--kserve-protocol=openai",
        f"--kserve-model-name={MODEL}",
        f"--kserve-openai-prefix={prefix}",
        "--kserve-consistency-timeout=5",
        "-k",
        "test_model_list",
    )
    assert run.outcome("ModelList") == outcome, run.output[-2000:]
