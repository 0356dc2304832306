"""The fault catalogue: typed faults, and a misspelt one refused at start-up in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kserve_local import faults
from kserve_local.faults import Component, Fault, FaultError


def test_unknown_fault_ends_startup_with_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "kserve_local", "--state-dir", str(tmp_path), "--fault", "nosuch"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("kserve_local: unknown fault 'nosuch'; known: ")
    assert "never-ready" in lines[0]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "target.json").exists()


def test_list_faults_names_each_with_its_component() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "kserve_local", "--list-faults"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert len(lines) == len(Fault)
    assert any(line.startswith("502-every=N ") and "gateway" in line for line in lines)


def test_parameters_and_defaults() -> None:
    parsed = faults.parse(["502-every=1000", "delay-every=50:300", "missing-condition", "never-ready"])
    assert parsed == {
        Fault.EVERY_502: "1000",
        Fault.DELAY_EVERY: "50:300",
        Fault.MISSING_CONDITION: "IngressReady",
        Fault.NEVER_READY: "",
    }
    for bad in ("502-every", "502-every=x", "delay-every=50", "delay-every=0:10"):
        with pytest.raises(FaultError):
            faults.parse([bad])


def test_catalogue_by_component() -> None:
    assert {f.label: f.description for f in Fault} == faults.ALL
    assert (
        faults.ALL.keys()
        == faults.CONTROLLER.keys() | faults.API_SERVER.keys() | faults.MODEL_SERVER.keys() | faults.GATEWAY.keys()
    )
    assert Fault.WRONG_URL_HOST.component is Component.CONTROLLER
    assert faults.named("server-error").component is Component.MODEL_SERVER
