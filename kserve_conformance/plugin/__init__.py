"""The pytest plugin (the ``pytest11`` entry point): inert until the suite's checks are collected.

Installed, this module is loaded by every pytest run of the environment. It registers its
options (all ``--kserve-...``) and markers and validates the values a user gave them; nothing
else. The fixtures and the hooks that feed them (``kserve_conformance.fixtures``) are plugged in
when pytest starts collecting a file of the checks' package, and the reports (JUnit, Allure,
benchmark storage, the SIGTERM handler) once a check is collected (``activation``). So a user's
own suite in the same environment imports no Kubernetes client, Allure or scipy from here, sees
no ``kserve_*`` fixture, and gets no file written.

Imports point one way: this module may import the library lazily; nothing in the library
imports it back except ``plugin.config``, the validated options.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from kserve_conformance.certification import rules as certification
from kserve_conformance.checks.spec import check_of
from kserve_conformance.errors import SetupError
from kserve_conformance.plugin import activation, option_forms, options
from kserve_conformance.plugin import config as suite_config
from kserve_conformance.reporting.report import ConformanceReport

# The fixture modules, plugged in by name when the checks are collected (see ``fixtures/__init__``).
FIXTURE_PLUGINS = tuple(
    f"kserve_conformance.fixtures.{name}"
    # in import order: a module is registered before any other one imports it (assertion rewriting)
    for name in (
        "diagnostics",
        "cluster",
        "llmisvc",
        "services",
        "openai",
        "lifecycle",
        "monitoring",
        "parametrize",
        "steps",
    )
)
PLUGGED_KEY = pytest.StashKey[bool]()
MARKERS = (
    "conformance(check): a conformance check's metadata (see kserve_conformance.checks.spec)",
    "services(protocol, kind): restrict the service parametrization to one data-plane protocol "
    "(protocol openai: LLMInferenceServices too) and to one kind of object",
    "load: the load test (the walk-through's step 6, docs/walkthrough.md); deselect with -m 'not load'",
    "llm_load: the LLM load test (streaming, token-level latency); deselect with -m 'not llm_load'",
    "round_trip: single-request timings (pytest-benchmark); deselect with -m 'not round_trip'",
    "lifecycle: rollout and scaling checks, each module changing its own InferenceService; "
    "deselect with -m 'not lifecycle'",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the options (exit 4 on a bad one) and register the markers; nothing else yet.

    Reports, benchmark storage and the SIGTERM handler wait until a check is collected
    (``activation``), so the plugin changes nothing in a pytest run that is not the suite's.
    """
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    options.warn_deprecated(config)
    suite = suite_config.install(config)
    certification.configure(config, suite.certification, suite.cluster)
    config.pluginmanager.register(ConformanceReport(config), "kserve-conformance-report")


def plug_fixtures(config: pytest.Config) -> None:
    """The suite's fixtures and their hooks, once: this is the moment the run becomes the suite's."""
    if config.stash.get(PLUGGED_KEY, False):
        return
    config.stash[PLUGGED_KEY] = True
    for name in FIXTURE_PLUGINS:
        config.pluginmanager.import_plugin(name)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Plug the fixtures in before the first file of the checks' package is collected."""
    if file_path.suffix == ".py" and file_path.resolve().is_relative_to(certification.checks_dir()):
        plug_fixtures(parent.config)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--kserve-kind-show-plan``: what ``--kserve-cluster=kind`` would install, without running anything."""
    if not config.getoption("kserve_kind_show_plan", False):
        return None
    from kserve_conformance.providers.kind_install import plan, releases

    version = config.getoption("kserve_version") or releases()["defaultRelease"]
    try:
        steps = plan(version, config.getoption("kserve_deployment_mode"))
    except SetupError as err:
        print(f"kserve-conformance: {err}")
        return 4
    image = config.getoption("kind_image") or releases()["kind"]["nodeImage"]
    print(f"# kind {releases()['kind']['version']}, node image {image}")
    print(
        f"# KServe {version}, {config.getoption('kserve_deployment_mode')} mode; skipped if KServe is already installed"
    )
    for step in steps:
        print(f"[{step.stage}] {step.command()}")
    return 0


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: what is left is what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Activate the reports if a check is collected; give each check its identity in the JUnit XML."""
    checks = [(item, check) for item in items if (check := check_of(item)) is not None]
    if not checks:
        return
    from kserve_conformance.reporting import allure_labels

    activation.activate(config, suite_config.of(config).report_dir)
    allure_labels.label_items(checks)
    for item, check in checks:
        item.user_properties += [
            ("check", check.name),  # how tools find a check in the JUnit XML
            ("kserve-conformance.nodeid", item.nodeid),
            ("kserve-conformance.check", check.name),
            ("kserve-conformance.level", check.level),
        ]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # around allure-pytest's own setup wrapper
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    check = check_of(item) if activation.active(item.config) else None
    if check is None:
        yield
        return
    from kserve_conformance.reporting import allure_labels

    allure_labels.parameters(item)
    yield
    allure_labels.title_path(item, check)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        certification.record_deselected(items[0].config, len(items))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Autosave round-trip timings, but only in a run that has some (else pytest-benchmark warns)."""
    certification.record_collected(session.config, len(session.items))
    bench = getattr(session.config, "_benchmarksession", None)
    if (
        bench is not None
        and session.config.stash.get(activation.AUTOSAVE_KEY, False)
        and any("benchmark" in getattr(item, "fixturenames", ()) for item in session.items)
    ):
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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None]:
    """Before the initial conftests: ``--kserve-report-dir DIR`` must mean what ``--kserve-report-dir=DIR``
    means (``option_forms``), and so must ``--report-dir DIR``, an old name (``options.without_aliases``).
    After them: an old, unprefixed option name that no conftest or other plugin registered is rewritten to
    the suite's prefixed one (``options``), before pytest parses the arguments."""
    option_forms.realign(early_config, parser, args, options.without_aliases(args, options.registered_names(parser)))
    result = yield
    early_config.stash[options.DEPRECATED_KEY] = options.rewrite_aliases(args, options.registered_names(parser))
    return result
