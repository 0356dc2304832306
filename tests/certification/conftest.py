"""One certification run on the local target, shared by every certification self-test.

A certification run is the whole suite at the published thresholds: minutes. On the local
target it is a rehearsal (the embedded target stands in for KServe, so the bundle is never a
submission), and that one bundle carries every control the verifier has: the rehearsal's own
labelling (``test_rehearsal.py``) and each tampered copy (``test_verify.py``, which checks
them with the verifier's ``rehearsal`` flag: every rule a submission is held to, except being one).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.controls.runner import REPO, suite_env

IMPLEMENTATION = {
    "organization": "Example",
    "project": "kserve-local",
    "url": "https://example.com",
    "version": "0.21.0",
    "contact": "ops@example.com",
}
BUNDLE = "kserve-conformance-kserve-local-0.21.0-rehearsal.tar.gz"


def certify(report_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "conformance"),
        "--rootdir",
        str(REPO),
        "-q",
        "--kserve-certification",
        f"--kserve-report-dir={report_dir}",
        *(f"--kserve-implementation-{k}={v}" for k, v in IMPLEMENTATION.items()),
        *args,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1500, env=suite_env())


@dataclass(frozen=True)
class Rehearsal:
    done: subprocess.CompletedProcess[str]
    bundle: Path


@pytest.fixture(scope="session")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """A certification run on the local target, as a newcomer would type it: a rehearsal, end to end."""
    report_dir = tmp_path_factory.mktemp("rehearsal") / "reports"
    return Rehearsal(certify(report_dir), report_dir / BUNDLE)


@pytest.fixture(scope="session")
def certified(rehearsed: Rehearsal) -> Path:
    """The rehearsal's bundle, for the verifier's controls; the run must have made one."""
    done, path = rehearsed.done, rehearsed.bundle
    assert path.is_file(), f"no bundle (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return path
