"""Bad options end the run at once: one line naming each, exit code 4, nothing else printed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kserve_conformance import timeouts
from tests.controls.runner import REPO, suite_command, suite_env


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(suite_command(tmp_path / "reports", *args), cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=suite_env())


@pytest.mark.parametrize(("option", "named"), [
    ("--load-rate=-5", "--load-rate=-5.0: must be a finite number > 0"),
    ("--load-workers=0", "--load-workers=0: must be a finite number >= 1"),
    ("--slo-error-rate=1.5", "--slo-error-rate=1.5: must be a finite number >= 0 and <= 1"),
    ("--request-timeout=nan", "--request-timeout=nan"),
    ("--services=nosuch", "--services=nosuch: unknown service id(s) nosuch; known: sklearn-iris, sklearn-iris-v2"),
    ("--storage-uri-map=nonsense", "expected FROM=TO"),
    ("--local-crd=/nonexistent/crd.yaml", "--local-crd=/nonexistent/crd.yaml: no such file"),
])
def test_bad_option_is_one_line_and_exit_4(tmp_path: Path, option: str, named: str) -> None:
    done = run(tmp_path, option, "--collect-only")
    assert done.returncode == 4, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], lines


def test_every_bad_option_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, "--load-rate=0", "--load-duration=-1", "--collect-only")
    assert done.returncode == 4
    assert "--load-rate=0.0" in done.stderr and "--load-duration=-1.0" in done.stderr, done.stderr


def test_good_options_collect(tmp_path: Path) -> None:
    """The negative control of the above: valid values pass validation."""
    done = run(tmp_path, "--load-rate=5", "--services=sklearn-iris", "--slo-error-rate=0.01", "--collect-only")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_unreachable_endpoint_ends_in_one_line_with_exit_4(tmp_path: Path) -> None:
    done = run(tmp_path, "--endpoint=http://127.0.0.1:9", "--model-name=iris")
    assert done.returncode == 4, done.stdout[-3000:]
    output = done.stdout + done.stderr
    assert "--endpoint http://127.0.0.1:9 is unreachable" in output, output[-3000:]
    assert "Not saving anything" not in output and "Warning" not in output, output[-3000:]
    assert "FAILED" not in output, "a setup failure is not a failure per check"


def test_timeouts_are_one_table() -> None:
    names = [name for name, _ in timeouts.table()]
    assert {"ready_s", "request_s", "load_request_s", "delete_s", "namespace_s"} <= set(names)
    assert all(seconds > 0 for _, seconds in timeouts.table())
