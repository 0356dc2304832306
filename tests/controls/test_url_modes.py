"""The whole suite through ``--cluster=existing`` against the local target in each URL mode.

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
    "standard-custom-template": LocalOptions(deployment_mode="Standard",
                                             domain_template="{{ .Namespace }}.{{ .Name }}.{{ .IngressDomain }}"),
    "path-based": LocalOptions(deployment_mode="Standard", path_template="/serving/{{ .Namespace }}/{{ .Name }}"),
}


@pytest.mark.parametrize("target", MODES.values(), ids=MODES.keys(), indirect=True)
def test_existing_passes_against_local_target_in_each_url_mode(target: LocalTargetProcess, tmp_path: Path) -> None:
    # The whole suite but the load check (timed, so it runs alone: test_load_controls.py, README
    # command 1; the URL mode does not change how load is sent) and the rollout and scaling checks
    # (about a minute per mode; test_lifecycle_controls*.py run them in both modes). The round
    # trips are timed once each.
    run = run_suite(tmp_path, "--cluster=existing", f"--kubeconfig={target.kubeconfig}",
                    "-m", "not load and not lifecycle", "--benchmark-disable")
    passed_all(run)
    assert run.outcome("test_v1_predict") == "passed"
    doc = report(run)
    assert doc["cluster"]["provider"] == "existing"
    assert doc["cluster"]["ingressEndpoint"]["foundBy"] == "load balancer of istio-system/istio-ingressgateway"
    if target.options.deployment_mode == "Standard":
        assert doc["profiles"]["extended"]["notSupported"] > 0  # the Knative-only checks
        assert run.outcome("KnativeConditions") == "skipped"
