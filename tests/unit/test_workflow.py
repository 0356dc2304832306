"""The users' CI job (.github/workflows/conformance-kind.yml) is valid and runs the kind suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "conformance-kind.yml"


def actionlint() -> str:
    exe = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(exe).exists():
        pytest.fail("actionlint not installed: pip install -e '.[dev]'")
    return exe


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([actionlint(), "-no-color", str(path)], capture_output=True, text=True)


def test_workflow_passes_actionlint() -> None:
    proc = lint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("inputs.kserve-version", "inputs.kserve-versoin"))
    proc = lint(broken)
    assert proc.returncode != 0 and "kserve-versoin" in proc.stdout, proc.stdout


def test_workflow_runs_the_suite_on_kind_and_uploads_reports() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["kind"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "pytest --kserve-cluster=kind" in runs
    assert "--kserve-version" in runs
    assert "--kserve-deployment-mode" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/"
    assert upload["if"] == "always()"
