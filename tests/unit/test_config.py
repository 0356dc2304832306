"""Bad options end the run at once: one line naming each, exit code 4, nothing else printed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kserve_conformance import timeouts
from tests.controls.runner import REPO, suite_command, suite_env


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        suite_command(tmp_path / "reports", *args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=suite_env(),
    )


@pytest.mark.parametrize(
    ("option", "named"),
    [
        ("--kserve-load-rate=-5", "--kserve-load-rate=-5.0: must be a finite number > 0"),
        ("--kserve-load-workers=0", "--kserve-load-workers=0: must be a finite number >= 1"),
        ("--kserve-slo-error-rate=1.5", "--kserve-slo-error-rate=1.5: must be a finite number >= 0 and <= 1"),
        ("--kserve-request-timeout=nan", "--kserve-request-timeout=nan"),
        (
            "--kserve-services=nosuch",
            "--kserve-services=nosuch: unknown service id(s) nosuch; known: sklearn-iris, sklearn-iris-v2",
        ),
        ("--kserve-storage-uri-map=nonsense", "expected FROM=TO"),
        ("--kserve-local-crd=/nonexistent/crd.yaml", "--kserve-local-crd=/nonexistent/crd.yaml: no such file"),
        ("--kserve-openai-prefix=openai", "--kserve-openai-prefix=openai: must start with /"),
        ("--kserve-prometheus-url=prometheus:9090", "--kserve-prometheus-url=prometheus:9090: must be an http://"),
        ("--kserve-llm-load-rate=0", "--kserve-llm-load-rate=0.0: must be a finite number > 0"),
        ("--kserve-slo-goodput=2", "--kserve-slo-goodput=2.0: must be a finite number >= 0 and <= 1"),
        (
            "--kserve-llm-load-tokenizer=/nonexistent.json",
            "--kserve-llm-load-tokenizer=/nonexistent.json: no such file",
        ),
    ],
)
def test_bad_option_is_one_line_and_exit_4(tmp_path: Path, option: str, named: str) -> None:
    done = run(tmp_path, option, "--collect-only")
    assert done.returncode == 4, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], lines


def test_every_bad_option_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, "--kserve-load-rate=0", "--kserve-load-duration=-1", "--collect-only")
    assert done.returncode == 4
    assert "--kserve-load-rate=0.0" in done.stderr and "--kserve-load-duration=-1.0" in done.stderr, done.stderr


def test_good_options_collect(tmp_path: Path) -> None:
    """The negative control of the above: valid values pass validation."""
    done = run(
        tmp_path,
        "--kserve-load-rate=5",
        "--kserve-services=sklearn-iris",
        "--kserve-slo-error-rate=0.01",
        "--collect-only",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_unreachable_endpoint_ends_in_one_line_with_exit_4(tmp_path: Path) -> None:
    done = run(tmp_path, "--kserve-endpoint=http://127.0.0.1:9", "--kserve-model-name=iris")
    assert done.returncode == 4, done.stdout[-3000:]
    output = done.stdout + done.stderr
    assert "--kserve-endpoint http://127.0.0.1:9 is unreachable" in output, output[-3000:]
    assert "Not saving anything" not in output and "Warning" not in output, output[-3000:]
    assert "FAILED" not in output, "a setup failure is not a failure per check"


def test_timeouts_are_one_table() -> None:
    names = [name for name, _ in timeouts.table()]
    assert {"ready_s", "request_s", "load_request_s", "delete_s", "namespace_s"} <= set(names)
    assert all(seconds > 0 for _, seconds in timeouts.table())
