"""A certification run refuses to start when it would not certify everything: one line each, exit 4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kserve_conformance.checks import catalog
from tests.controls.runner import REPO, suite_env

IMPLEMENTATION = [f"--kserve-implementation-{k}=x" for k in ("organization", "project", "url", "version", "contact")]


def certify(tmp_path: Path, *args: str, path: str = str(REPO / "conformance")) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        path,
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(REPO),
        "-q",
        "--collect-only",
        "--kserve-certification",
        f"--kserve-report-dir={tmp_path / 'reports'}",
        *args,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, env=suite_env())


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("-k", "predict"), "-k predict narrows the selection"),
        (("-m", "not load"), "-m not load narrows the selection"),
        (("--deselect", "conformance/test_load.py"), "--deselect conformance/test_load.py narrows the selection"),
        (("--kserve-services=sklearn-iris",), "--kserve-services sklearn-iris narrows the selection"),
        (("-x",), "-x/--maxfail 1 narrows the selection"),
        (("--kserve-slo-p99-ms=250",), "--kserve-slo-p99-ms=250 is looser than the published 100"),
        (("--kserve-slo-error-rate=0.01",), "--kserve-slo-error-rate=0.01 is looser than the published 0"),
        (("--kserve-load-duration=5",), "--kserve-load-duration=5 is looser than the published 60"),
    ],
)
def test_narrowed_or_loosened_run_is_refused(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    done = certify(tmp_path, *IMPLEMENTATION, *args)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [f"ERROR: kserve-conformance: --kserve-certification: {named}"], (
        done.stderr
    )


def test_a_test_path_other_than_the_checks_is_refused(tmp_path: Path) -> None:
    done = certify(tmp_path, *IMPLEMENTATION, path=str(REPO / "conformance" / "test_v1_protocol.py"))
    assert done.returncode == 4
    assert "test path" in done.stderr
    assert "narrows the selection" in done.stderr


def test_missing_implementation_fields_are_named(tmp_path: Path) -> None:
    done = certify(tmp_path, "--kserve-implementation-organization=x")
    assert done.returncode == 4
    assert (
        "missing --kserve-implementation-project, --kserve-implementation-url, --kserve-implementation-version, "
        "--kserve-implementation-contact"
    ) in done.stderr, done.stderr


def test_stricter_thresholds_and_the_full_selection_are_accepted(tmp_path: Path) -> None:
    """The control: nothing above is refused for being a certification run as such."""
    done = certify(
        tmp_path,
        *IMPLEMENTATION,
        "--kserve-slo-p99-ms=50",
        "--kserve-load-rate=600",
        "--kserve-ready-timeout=900",
        f"--kserve-services={','.join(e.id for e in catalog.services())}",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
