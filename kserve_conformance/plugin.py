"""pytest plugin entry point (registered under ``pytest11``): options, reports, clean exits.

Option names that pytest-kind-ng owns (``--cluster-name --keep-cluster --kubeconfig --kind-image
--kind-bin --kind-kubectl-bin``) are read from it, never registered again.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from kserve_conformance import activation, allure_labels, certification, option_forms, report
from kserve_conformance import config as suite_config
from kserve_conformance.errors import SetupError
from kserve_conformance.spec import check_of

CLUSTERS = ("local", "existing", "kind")
MARKERS = (
    "conformance(check): a conformance check's metadata (see kserve_conformance.spec)",
    "services(protocol): restrict the service parametrization to one data-plane protocol",
    "load: the load test (SEED.md step 6); deselect with -m 'not load'",
    "round_trip: single-request timings (pytest-benchmark); deselect with -m 'not round_trip'",
    "lifecycle: rollout and scaling checks, each module changing its own InferenceService; "
    "deselect with -m 'not lifecycle'",
)
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
    lifecycle = parser.getgroup("kserve-conformance rollouts and scaling (extended)")
    lifecycle.addoption("--traffic-timeout", type=float, default=120.0,
                        help="seconds from a rollout patch to the traffic split in status (default 120)")
    lifecycle.addoption("--scale-timeout", type=float, default=600.0,
                        help="seconds for replicas to scale up, down or to zero (default 600: Knative's 60 s "
                             "window + 30 s grace, the HPA's 300 s downscale stabilization)")
    lifecycle.addoption("--cold-start-ceiling", type=float, default=300.0,
                        help="seconds the first request after scale to zero may take (default 300)")
    dp = parser.getgroup("kserve-conformance data-plane-only mode")
    dp.addoption("--endpoint", default=None, metavar="URL",
                 help="run the data-plane checks against a running model server (no Kubernetes)")
    dp.addoption("--model-name", default=None, help="with --endpoint: the model it serves")
    dp.addoption("--protocol", default="v1", choices=("v1", "v2"), help="with --endpoint: its REST protocol")
    dp.addoption("--grpc-endpoint", default=None, metavar="HOST:PORT",
                 help="the V2 gRPC endpoint (with --endpoint, or to reach a cluster's gRPC port-forward)")
    load = parser.getgroup("kserve-conformance load (SEED.md step 6)")
    load.addoption("--load-rate", type=float, default=500.0, help="requests per second, open loop (default 500)")
    load.addoption("--load-duration", type=float, default=60.0,
                   help="seconds of load per service (default 60, the tutorial's; 5 is a quick check)")
    load.addoption("--load-workers", type=int, default=1,
                   help="generator processes sharing the rate, for rates one core cannot hold (default 1)")
    load.addoption("--load-timeout", type=float, default=30.0, help="seconds per load request (vegeta's default 30)")
    load.addoption("--load-max-lag-ms", type=float, default=10.0,
                   help="generator scheduling lag p99 above which the run is invalid, not judged (default 10)")
    load.addoption("--slo-p99-ms", type=float, default=100.0, help="latency p99 bound in ms (default 100)")
    load.addoption("--slo-p50-ms", type=float, default=None, help="latency p50 bound in ms (default: none)")
    load.addoption("--slo-max-ms", type=float, default=None, help="latency max bound in ms (default: none)")
    load.addoption("--slo-error-rate", type=float, default=0.0,
                   help="fraction of requests allowed to fail: transport error or status outside [200, 400) "
                        "(default 0: every failure counts)")
    kind = parser.getgroup("kserve-conformance kind (with pytest-kind-ng's --cluster-name, --keep-cluster, "
                           "--kind-image, --kind-bin, --kind-kubectl-bin)")
    kind.addoption("--kserve-version", default=None,
                   help="KServe release to install into a kind cluster without KServe (default: the newest pinned)")
    kind.addoption("--deployment-mode", default="Standard", choices=("Standard", "Knative"),
                   help="KServe deployment mode to install on kind (default Standard)")
    kind.addoption("--kind-show-plan", action="store_true",
                   help="print the kind install plan (commands and pinned manifests) for the chosen options and exit")
    local = parser.getgroup("kserve-conformance local target")
    local.addoption("--local-deployment-mode", default="Knative", choices=("Knative", "Standard"),
                    help="the local target's default deployment mode")
    local.addoption("--local-domain-template", default=None, help="the local target's Standard-mode domainTemplate")
    local.addoption("--local-path-template", default=None, help="enable path-based routing on the local target")
    local.addoption("--local-crd", default=None,
                    help="validate InferenceServices against this CRD file (default: a built-in subset)")
    local.addoption("--local-fault", action="append", default=[],
                    help="inject a defect into the local target (for the suite's own negative controls)")
    g.addoption("--certification", action="store_true",
                help="a certification run: every check, published thresholds, a submission bundle at the end "
                     "(needs the --implementation-* options)")
    report.addoptions(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the options (exit 4 on a bad one) and register the markers; nothing else yet.

    Reports, benchmark storage and the SIGTERM handler wait until a check is collected
    (``activation``), so the plugin changes nothing in a pytest run that is not the suite's.
    """
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    suite = suite_config.install(config)
    certification.configure(config, suite.certification)
    for module in FIXTURE_MODULES:
        config.pluginmanager.import_plugin(module)
    config.pluginmanager.register(report.ConformanceReport(config), "kserve-conformance-report")


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--kind-show-plan``: what ``--cluster=kind`` would install, without running anything."""
    if not config.getoption("kind_show_plan", False):
        return None
    from kserve_conformance.kind.install import plan, releases

    version = config.getoption("kserve_version") or releases()["defaultRelease"]
    try:
        steps = plan(version, config.getoption("deployment_mode"))
    except SetupError as err:
        print(f"kserve-conformance: {err}")
        return 4
    image = config.getoption("kind_image") or releases()["kind"]["nodeImage"]
    print(f"# kind {releases()['kind']['version']}, node image {image}")
    print(f"# KServe {version}, {config.getoption('deployment_mode')} mode; skipped if KServe is already installed")
    for step in steps:
        print(f"[{step.stage}] {step.command()}")
    return 0


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: what is left is what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Activate the reports if a check is collected; give each check its identity in the JUnit XML."""
    checks = [(item, check) for item in items if (check := check_of(item)) is not None]
    if not checks:
        return
    activation.activate(config, suite_config.of(config).report_dir)
    allure_labels.label_items(checks)
    for item, check in checks:
        item.user_properties += [("kserve-conformance.nodeid", item.nodeid),
                                 ("kserve-conformance.check", check.name),
                                 ("kserve-conformance.level", check.level)]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # around allure-pytest's own setup wrapper
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    check = check_of(item) if activation.active(item.config) else None
    if check is not None:
        allure_labels.parameters(item)
    yield
    if check is not None:
        allure_labels.title_path(item, check)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        certification.record_deselected(items[0].config, len(items))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Autosave round-trip timings, but only in a run that has some (else pytest-benchmark warns)."""
    certification.record_collected(session.config, len(session.items))
    bench = getattr(session.config, "_benchmarksession", None)
    if bench is not None and session.config.stash.get(activation.AUTOSAVE_KEY, False) and any(
            "benchmark" in getattr(item, "fixturenames", ()) for item in session.items):
        from pytest_benchmark.utils import get_tag

        bench.autosave = get_tag()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None]:
    """No autosave when no timing was taken (a setup failure ended the run before the round trips).

    pytest-benchmark would otherwise print "Not saving anything, no benchmarks have been run!"
    under the one line that names the real problem.
    """
    bench = getattr(session.config, "_benchmarksession", None)
    if bench is not None and session.config.stash.get(activation.AUTOSAVE_KEY, False) and not bench.benchmarks:
        bench.autosave = None
    yield


def fail_setup(err: SetupError) -> None:
    """End the run with the one line a user needs, not a traceback."""
    pytest.exit(f"kserve-conformance: {err}", returncode=4)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """``--report-dir DIR`` must mean what ``--report-dir=DIR`` means (see ``option_forms``)."""
    option_forms.realign(early_config, parser, args)
