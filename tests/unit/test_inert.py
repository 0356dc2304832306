"""Installed, the plugin does nothing in a pytest run that does not collect its checks.

Its entry point loads in every pytest run of the environment; a user's own suite must get no
``reports/`` directory, no JUnit or Allure output and no SIGTERM handler from it. The control:
collecting the checks from an unrelated directory with ``--pyargs`` works, and warns about no
marker (the plugin registers its own).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.controls.runner import suite_env

USER_TEST = '''
import signal


def test_users_own_check():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "a SIGTERM handler was installed"
'''

# A user's suite with fixtures named as a Kubernetes suite names them: they must be the user's.
USER_FIXTURES = '''
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
'''


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=directory,
                          capture_output=True, text=True, timeout=120, env=suite_env())


def test_users_suite_gets_nothing_from_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USER_TEST)
    done = pytest_in(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    # .benchmarks is pytest-benchmark's own (it creates its default storage in every run)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name not in (".benchmarks", "__pycache__"))
    assert written == ["test_mine.py"], f"the plugin wrote files: {written}"
    assert "kserve" not in done.stdout.lower(), done.stdout


def test_checks_collect_from_anywhere_without_warnings(tmp_path: Path) -> None:
    done = pytest_in(tmp_path, "--pyargs", "kserve_conformance.conformance", "--collect-only", "-q",
                     "-W", "error::pytest.PytestUnknownMarkWarning")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout[-2000:]
    assert "tests collected" in done.stdout


def test_users_fixture_names_are_never_shadowed(tmp_path: Path) -> None:
    (tmp_path / "test_fixtures.py").write_text(USER_FIXTURES)
    done = pytest_in(tmp_path, "-q", "--fixtures")
    plugin_fixtures = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("kserve_")]
    assert {"kserve_cluster", "kserve_namespace", "kserve_service"} <= set(plugin_fixtures), done.stdout[-2000:]
    run = pytest_in(tmp_path, "-q")
    assert run.returncode == 0, run.stdout + run.stderr
