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


# The load check runs in the Knative mode only, alone on the machine (CI's serial pass): it
# measures latency, and the URL mode does not change how the load is sent. The other modes run in
# the parallel pass.
URL_MODE_RUNS = [pytest.param(options, id=name, marks=pytest.mark.serial if name == "knative" else ())
                 for name, options in MODES.items()]


@pytest.mark.parametrize("target", URL_MODE_RUNS, indirect=True)
def test_existing_passes_against_local_target_in_each_url_mode(target: LocalTargetProcess, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    # The whole suite, the round trips timed once each. Not the rollout and scaling checks (about a
    # minute per mode; test_lifecycle_controls runs them in both modes).
    with_load = request.node.get_closest_marker("serial") is not None
    select = "(load or not load) and not lifecycle" if with_load else "not load and not lifecycle"
    run = run_suite(tmp_path, "--cluster=existing", f"--kubeconfig={target.kubeconfig}", "-m", select,
                    "--load-duration=2", "--load-rate=200", "--benchmark-disable")
    passed_all(run)
    assert run.outcome("test_v1_predict") == "passed"
    if with_load:
        assert run.outcome("LoadSLO") == "passed"
    doc = report(run)
    assert doc["cluster"]["provider"] == "existing"
    assert doc["cluster"]["ingressEndpoint"]["foundBy"] == "load balancer of istio-system/istio-ingressgateway"
    if target.options.deployment_mode == "Standard":
        assert doc["profiles"]["extended"]["notSupported"] > 0  # the Knative-only checks
        assert run.outcome("KnativeConditions") == "skipped"
