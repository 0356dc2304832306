"""``--option VALUE`` and ``--option=VALUE`` collect the same checks, for every path-valued option.

pytest guesses its rootdir from arguments it does not know before plugins load; an existing
path given with a space used to move the rootdir and pull the self-tests into the run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.controls.runner import REPO, suite_env


def collected(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1].split(" in ")[0]  # "68 tests collected"


@pytest.mark.parametrize("option", ["--kserve-report-dir", "--kubeconfig", "--kserve-local-crd"])
def test_space_and_equals_forms_collect_the_same(tmp_path: Path, option: str) -> None:
    value = tmp_path / "value"
    if option == "--kserve-report-dir":
        value.mkdir()
    else:
        value.write_text("apiVersion: v1\n")
    spaced, joined = collected(option, str(value)), collected(f"{option}={value}")
    assert spaced == joined, f"{option} VALUE: {spaced}; {option}=VALUE: {joined}"


def test_the_default_run_is_the_checks_only() -> None:
    """The control: what both forms must agree with is the suite's own 'testpaths'."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )
    assert "tests/" not in done.stdout and "conformance/" in done.stdout, done.stdout[-2000:]
