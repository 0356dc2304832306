"""The plugin stays inert in other people's pytest runs until one of its checks is collected.

Once installed, a ``pytest11`` plugin is loaded by every pytest run in that environment. Like
pytest-benchmark and pytest-xdist, which change nothing until asked, the suite only points
JUnit XML and Allure results at ``--kserve-report-dir``, moves pytest-benchmark's storage there and
turns SIGTERM into a clean interrupt when the session has collected at least one conformance
check; a user's own suite in the same environment gets none of it. Paths the user chose
(``--junitxml``, ``--alluredir``, ``--benchmark-storage``) are never replaced.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import pytest

ACTIVE_KEY = pytest.StashKey[bool]()
AUTOSAVE_KEY = pytest.StashKey[bool]()
DEFAULT_BENCHMARK_STORAGE = "file://./.benchmarks"


def active(config: pytest.Config) -> bool:
    return config.stash.get(ACTIVE_KEY, False)


def activate(config: pytest.Config, report_dir: Path) -> None:
    """Called once, when collection found a conformance check."""
    if active(config):
        return
    config.stash[ACTIVE_KEY] = True
    if config.option.collectonly:
        # Listing the checks runs none: writing empty reports would replace the last run's, which a
        # user lists checks beside (``reports/`` is one directory for every run).
        return
    _junit(config, report_dir / "junit.xml")
    _allure(config, report_dir / "allure-results")
    _benchmarks(config, report_dir / "benchmarks")
    # CI cancels with SIGTERM: turn it into KeyboardInterrupt so fixture finalizers clean up.
    signal.signal(signal.SIGTERM, _interrupt)


def _junit(config: pytest.Config, path: Path) -> None:
    """What pytest's junitxml plugin does in ``pytest_configure`` when ``--junitxml`` is given."""
    if (
        getattr(config.option, "xmlpath", None)
        or hasattr(config, "workerinput")
        or not config.pluginmanager.has_plugin("junitxml")
    ):  # -p no:junitxml
        return
    from _pytest.junitxml import LogXML, xml_key

    config.option.xmlpath = str(path)
    xml = LogXML(
        str(path),
        config.option.junitprefix,
        config.getini("junit_suite_name"),
        config.getini("junit_logging"),
        config.getini("junit_duration_report"),
        config.getini("junit_family"),
        config.getini("junit_log_passing_tests"),
    )
    config.stash[xml_key] = xml
    config.pluginmanager.register(xml)
    xml.pytest_sessionstart()  # the session started before collection


def _allure(config: pytest.Config, path: Path) -> None:
    """What allure-pytest does in ``pytest_configure`` when ``--alluredir`` is given."""
    if not hasattr(config.option, "allure_report_dir") or config.option.allure_report_dir:
        return
    import allure_commons
    from allure_commons.logger import AllureFileLogger
    from allure_pytest.listener import AllureListener
    from allure_pytest.plugin import cleanup_factory

    config.option.allure_report_dir = str(path)
    listener = AllureListener(config)
    config.pluginmanager.register(listener, "allure_listener")
    allure_commons.plugin_manager.register(listener)
    config.add_cleanup(cleanup_factory(listener))
    file_logger = AllureFileLogger(os.path.abspath(path), config.option.clean_alluredir)
    allure_commons.plugin_manager.register(file_logger)
    config.add_cleanup(cleanup_factory(file_logger))


def _benchmarks(config: pytest.Config, path: Path) -> None:
    """Round-trip timings are saved with the other reports, so ``--benchmark-compare`` finds them."""
    bench = getattr(config, "_benchmarksession", None)
    option = config.option
    if bench is None or getattr(option, "benchmark_storage", None) != DEFAULT_BENCHMARK_STORAGE:
        return  # no pytest-benchmark, or the user chose a storage
    from pytest_benchmark.utils import load_storage

    option.benchmark_storage = f"file://{path}"
    bench.storage = load_storage(
        option.benchmark_storage,
        logger=bench.logger,
        default_machine_id=bench.machine_id,
        netrc=config.getoption("benchmark_netrc"),
    )
    config.stash[AUTOSAVE_KEY] = not (option.benchmark_autosave or option.benchmark_save or option.benchmark_disable)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
