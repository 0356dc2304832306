"""Installed, the plugin does nothing in a pytest run that does not collect its checks.

Its entry point loads in every pytest run of the environment; a user's own suite must get no
``reports/`` directory, no JUnit or Allure output, no SIGTERM handler, no heavy import (the
Kubernetes client, Allure, scipy, KServe, the local target) and no fixture or option name of
its. The control: collecting the checks from an unrelated directory with ``--pyargs`` works,
and warns about no marker (the plugin registers its own).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.controls.runner import suite_env

USER_TEST = """
import signal


def test_users_own_check():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "a SIGTERM handler was installed"
"""

# A user's suite with fixtures named as a Kubernetes suite names them: they must be the user's.
USER_FIXTURES = """
import pytest


@pytest.fixture
def cluster():
    return "users-cluster"


@pytest.fixture
def namespace():
    return "users-namespace"


@pytest.fixture
def service():
    return "users-service"


def test_users_fixtures_are_the_users(cluster, namespace, service):
    assert (cluster, namespace, service) == ("users-cluster", "users-namespace", "users-service")
"""


# A user's suite that records what it finds imported, and owns options named like the suite's old ones.
USER_MODULES = """
import sys


def test_record_modules(request):
    (request.config.rootpath / "modules.txt").write_text("\\n".join(sorted(sys.modules)))
"""
USER_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--endpoint", default="users-endpoint")
    parser.addoption("--namespace", default="users-namespace")

"""
USER_OPTIONS_TEST = """
def test_my_options_are_mine(request):
    assert (request.config.getoption("endpoint"), request.config.getoption("namespace")) == ("mine", "ours")
"""
HEAVY = (
    "kubernetes",
    "allure",
    "allure_commons",
    "scipy",
    "kserve",
    "kserve_local",
    "sklearn",
    "grpc",
    "matplotlib",
    "aiohttp",
    "kserve_conformance.fixtures",
    "kserve_conformance.reporting.allure_labels",
)


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )


def test_users_suite_gets_nothing_from_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USER_TEST)
    done = pytest_in(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    # .benchmarks is pytest-benchmark's own (it creates its default storage in every run)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name not in (".benchmarks", "__pycache__"))
    assert written == ["test_mine.py"], f"the plugin wrote files: {written}"
    assert "kserve" not in done.stdout.lower(), done.stdout


def collect_checks(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Collect the installed checks from an unrelated directory, as a user of the wheel would."""
    return pytest_in(directory, "--pyargs", "kserve_conformance.conformance", "--collect-only", "-q", *args)


def test_checks_collect_from_anywhere_without_warnings(tmp_path: Path) -> None:
    done = collect_checks(tmp_path, "-W", "error::pytest.PytestUnknownMarkWarning")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout[-2000:]
    assert "tests collected" in done.stdout


def test_listing_the_checks_leaves_the_last_runs_reports_alone(tmp_path: Path) -> None:
    """``--collect-only`` runs no check: the report directory keeps what the last run wrote."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "junit.xml").write_text("the last run's")
    done = collect_checks(tmp_path, f"--kserve-report-dir={reports}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml"], sorted(reports.iterdir())
    assert (reports / "junit.xml").read_text() == "the last run's"


def test_users_fixture_names_are_never_shadowed(tmp_path: Path) -> None:
    (tmp_path / "test_fixtures.py").write_text(USER_FIXTURES)
    done = pytest_in(tmp_path, "-q", "--fixtures")
    plugin_fixtures = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("kserve_")]
    assert plugin_fixtures == [], f"the plugin's fixtures are in a user's run: {plugin_fixtures}"
    run = pytest_in(tmp_path, "-q")
    assert run.returncode == 0, run.stdout + run.stderr


def modules_of(directory: Path, *args: str) -> set[str]:
    done = pytest_in(directory, "-q", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return set((directory / "modules.txt").read_text().split())


def test_plugin_imports_nothing_heavy_in_a_users_run(tmp_path: Path) -> None:
    """What the plugin adds to a user's run, against the same run without it (``-p no:``): nothing heavy.

    Compared, not listed, because other plugins of the environment (allure-pytest imports Allure
    itself) load what they load whether or not this one is installed.
    """
    (tmp_path / "test_modules.py").write_text(USER_MODULES)
    with_plugin = modules_of(tmp_path)
    without = modules_of(tmp_path, "-p", "no:kserve_conformance.plugin")
    added = sorted(
        m
        for m in with_plugin - without
        if m.split(".")[0] in {h.split(".")[0] for h in HEAVY} and any(m == h or m.startswith(h + ".") for h in HEAVY)
    )
    assert added == [], f"the plugin imported into a user's run: {added}"
    assert "kserve_conformance.plugin" in with_plugin  # the control: it was loaded


def test_the_checks_do_import_them(tmp_path: Path) -> None:
    """The control of the test above: collecting the checks loads the fixtures and the Kubernetes client."""
    (tmp_path / "conftest.py").write_text(
        "import sys\n\n\ndef pytest_collection_finish(session):\n"
        "    (session.config.rootpath / 'modules.txt').write_text('\\n'.join(sorted(sys.modules)))\n"
    )
    done = collect_checks(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    modules = set((tmp_path / "modules.txt").read_text().split())
    assert {"kubernetes", "kserve_conformance.fixtures.services"} <= modules


def test_users_options_with_the_suites_old_names_stay_the_users(tmp_path: Path) -> None:
    """Every option of the plugin is --kserve-...; a user's own --endpoint and --namespace are theirs, unrewritten."""
    from kserve_conformance.plugin import options

    assert all(o.flag.startswith("--kserve-") for o in options.options())
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    (tmp_path / "test_mine.py").write_text(USER_OPTIONS_TEST)
    done = pytest_in(tmp_path, "-q", "--endpoint=mine", "--namespace=ours")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deprecated" not in done.stdout.lower(), done.stdout


def test_old_option_names_still_work_with_a_deprecation_warning(tmp_path: Path) -> None:
    done = collect_checks(tmp_path, "--load-rate=5", "--namespace=somewhere")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "--load-rate (now --kserve-load-rate), --namespace (now --kserve-test-namespace)" in done.stdout
