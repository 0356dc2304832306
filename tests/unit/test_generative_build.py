"""The local target's generative venv builds in the background, below the checks' priority, and a
failed build is one setup error where a generative service first needs it."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest

from kserve_conformance.errors import SetupError
from kserve_conformance.providers import local


def fake_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """``sys.executable -m kserve_local.generative ensure`` becomes a script doing ``body``."""
    script = tmp_path / "python"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(local.sys, "executable", str(script))


def test_a_failed_build_is_one_setup_error_when_a_generative_service_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_builder(tmp_path, monkeypatch, "print('pip install failed for torch==2.13.0', file=sys.stderr); sys.exit(1)")
    said: list[str] = []
    build = local.GenerativeBuild(said.append)
    with pytest.raises(SetupError, match=re.escape("could not be built: pip install failed for torch==2.13.0")):
        build.wait()
    assert "pip install failed for torch==2.13.0" in said


def test_the_build_runs_at_the_lowest_priority_and_stops_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_builder(tmp_path, monkeypatch, "print('building', file=sys.stderr, flush=True); time.sleep(60)")
    build = local.GenerativeBuild(lambda _: None)
    try:
        assert os.getpriority(os.PRIO_PROCESS, build.process.pid) == 19
    finally:
        build.stop()
    assert build.process.poll() is not None, "an interrupted run left the build going"
