"""The whole suite through ``--kserve-cluster=existing`` against the local target in each URL mode.

A module of its own so that CI's parallel pass (a file per process) runs these beside the other
provider tests instead of behind them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.controls.runner import run_suite
from tests.controls.test_providers import passed_all, report

MODES = {
    "knative": LocalOptions(),
    "standard": LocalOptions(deployment_mode="Standard"),
    "standard-custom-template": LocalOptions(
        deployment_mode="Standard", domain_template="{{ .Namespace }}.{{ .Name }}.{{ .IngressDomain }}"
    ),
    "path-based": LocalOptions(deployment_mode="Standard", path_template="/serving/{{ .Namespace }}/{{ .Name }}"),
}
# The services each mode deploys. The URL mode decides how a service is reached, which is the same
# code for every protocol, so the generative runtimes (a minute of CPU each to start, on a machine
# shared with three other self-test processes) come in once: the Hugging Face one, in path-based
# routing, where the OpenAI prefix follows a path of KServe's making. Command 1 and the
# certification run in test_verify.py run every service, vLLM's included. StreamIncremental is left
# out here: it judges arrival times, and CI's parallel pass once saw the runtime's whole stream
# arrive in one piece beside three other suites; it is proven where nothing else runs (command 1,
# the serial pass), and the gateway's streaming by causal order in test_gateway_streaming.py.
CLASSIC = "sklearn-iris,sklearn-iris-v2"
SERVICES = {mode: CLASSIC for mode in MODES} | {"path-based": f"{CLASSIC},llm-huggingface"}


@pytest.mark.parametrize(
    ("target", "services"), [(MODES[m], SERVICES[m]) for m in MODES], ids=MODES.keys(), indirect=["target"]
)
def test_existing_passes_against_local_target_in_each_url_mode(
    target: LocalTargetProcess, services: str, tmp_path: Path
) -> None:
    # The whole suite but the load check (timed, so it runs alone: test_load_controls.py, README
    # command 1; the URL mode does not change how load is sent) and the rollout and scaling checks
    # (about a minute per mode; test_lifecycle_controls*.py run them in both modes). The round
    # trips are timed once each. The LLM load check is left out for the same reason as the load
    # check: beside three other self-test processes its generator is starved and the run invalid.
    run = run_suite(
        tmp_path,
        "--kserve-cluster=existing",
        f"--kubeconfig={target.kubeconfig}",
        "-m",
        "not load and not lifecycle and not llm_load",
        "-k",
        "not test_stream_incremental",
        "--benchmark-disable",
        f"--kserve-services={services}",
    )
    passed_all(run)
    assert run.outcome("test_v1_predict") == "passed"
    if "llm-huggingface" in services:  # the openai checks ran, through this mode's URLs
        for check in ("ModelList", "StreamDone", "ClientParses"):
            assert {v.outcome for v in run.matching(check).values()} == {"passed"}, check
    doc = report(run)
    assert doc["cluster"]["provider"] == "existing"
    assert doc["cluster"]["ingressEndpoint"]["foundBy"] == "load balancer of istio-system/istio-ingressgateway"
    if target.options.deployment_mode == "Standard":
        assert doc["profiles"]["extended"]["notSupported"] > 0  # the Knative-only checks
        assert run.outcome("KnativeConditions") == "skipped"
