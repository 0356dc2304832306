"""pytest plugin entry point (registered under ``pytest11``): options, reports, clean exits.

Option names that pytest-kind-ng owns (``--cluster-name --keep-cluster --kubeconfig --kind-image
--kind-bin --kind-kubectl-bin``) are read from it, never registered again.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import pytest

from kserve_conformance import report
from kserve_conformance.errors import SetupError

CLUSTERS = ("local", "existing", "kind")
FIXTURE_MODULES = ("kserve_conformance.fixtures.cluster", "kserve_conformance.fixtures.services")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("kserve-conformance", "KServe conformance")
    g.addoption("--cluster", choices=CLUSTERS, default="local",
                help="where to run: the embedded local target (default), the kubeconfig's cluster, or kind")
    g.addoption("--kube-context", default=None, help="kubeconfig context for --cluster=existing")
    g.addoption("--namespace", default=None,
                help="use this existing namespace (never created or deleted); default: a fresh one per run")
    g.addoption("--kserve-namespace", default="kserve", help="where inferenceservice-config lives")
    g.addoption("--ingress-endpoint", default=None, metavar="HOST:PORT",
                help="send data-plane requests here instead of discovering the ingress")
    g.addoption("--resolvable-domain", action="store_true",
                help="the services' URLs resolve from here: request them directly instead of via the ingress + Host")
    g.addoption("--storage-uri-map", action="append", default=[], metavar="FROM=TO",
                help="rewrite storageUri prefixes (model mirrors for air-gapped clusters); repeatable")
    g.addoption("--report-dir", default="reports", help="JUnit XML, Allure results and the conformance report")
    g.addoption("--ready-timeout", type=float, default=300.0, help="seconds from apply to Ready (default 300)")
    g.addoption("--consecutive-successes", type=int, default=3,
                help="successful requests in a row before a request check counts (default 3)")
    g.addoption("--consistency-timeout", type=float, default=60.0,
                help="seconds to reach the consecutive successes after Ready (default 60)")
    g.addoption("--services", default=None,
                help="comma-separated service ids to run (default: all in conformance/data/services)")
    g.addoption("--request-timeout", type=float, default=30.0, help="seconds for one data-plane request")
    dp = parser.getgroup("kserve-conformance data-plane-only mode")
    dp.addoption("--endpoint", default=None, metavar="URL",
                 help="run the data-plane checks against a running model server (no Kubernetes)")
    dp.addoption("--model-name", default=None, help="with --endpoint: the model it serves")
    dp.addoption("--protocol", default="v1", choices=("v1", "v2"), help="with --endpoint: its REST protocol")
    dp.addoption("--grpc-endpoint", default=None, metavar="HOST:PORT",
                 help="the V2 gRPC endpoint (with --endpoint, or to reach a cluster's gRPC port-forward)")
    local = parser.getgroup("kserve-conformance local target")
    local.addoption("--local-deployment-mode", default="Knative", choices=("Knative", "Standard"),
                    help="the local target's default deployment mode")
    local.addoption("--local-domain-template", default=None, help="the local target's Standard-mode domainTemplate")
    local.addoption("--local-path-template", default=None, help="enable path-based routing on the local target")
    local.addoption("--local-crd", default=None,
                    help="validate InferenceServices against this CRD file (default: a built-in subset)")
    local.addoption("--local-fault", action="append", default=[],
                    help="inject a defect into the local target (for the suite's own negative controls)")
    report.addoptions(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Point JUnit and Allure at --report-dir unless the user chose their own paths."""
    report_dir = Path(config.getoption("report_dir"))
    if getattr(config.option, "xmlpath", None) is None:
        config.option.xmlpath = str(report_dir / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(report_dir / "allure-results")
    for module in FIXTURE_MODULES:
        config.pluginmanager.import_plugin(module)
    config.pluginmanager.register(report.ConformanceReport(config), "kserve-conformance-report")
    # CI cancels with SIGTERM: turn it into KeyboardInterrupt so fixture finalizers clean up.
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def fail_setup(err: SetupError) -> None:
    """End the run with the one line a user needs, not a traceback."""
    pytest.exit(f"kserve-conformance: {err}", returncode=4)
