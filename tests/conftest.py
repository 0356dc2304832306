"""Self-test fixtures: where the read-only upstream reference data lives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"
ISVC_CRD = REFERENCE / "kserve" / "crd" / "serving.kserve.io_inferenceservices.yaml"
SLOW_FILES = Path(__file__).with_name("slow-files.yaml")


@pytest.fixture(scope="session")
def reference() -> Path:
    """Upstream data (CRD, ConfigMap, payloads, a real model): the self-tests need it, users do not."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE}: the self-tests expect ../shared beside the repo")
    return REFERENCE


def pytest_configure(config: pytest.Config) -> None:
    # The self-tests run in two passes (README): most of them spread over processes with
    # pytest-xdist (`-n 4 --dist loadfile`: a file's tests share one process, so module fixtures
    # such as a suite run per fault are made once), then the `serial` ones alone, because they
    # measure latency and would be starved of CPU by their neighbours on a 2-core machine.
    config.addinivalue_line("markers", "serial: times requests or CPU; run alone (pytest tests -m serial)")
    # The generative runtimes need their own venv (kserve_local.generative.env: torch, vLLM, KServe;
    # 3.7 GB, about 4-6 min to build once per machine, cached). Skip with -m "not generative".
    config.addinivalue_line("markers", "generative: needs the generative runtimes' venv (built once, cached)")
    config.addinivalue_line("markers", "vllm: starts vLLM's own server (1.5-7 min to start on 2 cores)")
    # The local target's monitoring is Debian's prometheus package (.ci/run installs it); without the
    # binary these are skipped, saying so, and the monitoring checks are not applicable.
    config.addinivalue_line("markers", "prometheus: needs a prometheus binary on PATH (apt-get install prometheus)")
    # The slowest self-tests at the end of each pass (as --durations=25 would), so that CI's log
    # shows where its time went without a command line of its own; an explicit --durations wins.
    if config.option.durations is None:
        config.option.durations = 25
    # pytest-xdist would hand out files by their number of tests (its default --loadscope-reorder),
    # which puts the many quick unit files first; the order below (slowest first) is kept instead.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("prometheus") and shutil.which("prometheus") is None:
        pytest.skip("no prometheus binary on PATH: apt-get install prometheus (Debian's package) to run this")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the slowest files first (``slow-files.yaml``), so none starts last.

    Every worker collects the same order (the sort is stable and depends only on the file), which
    xdist requires; a file's own tests keep their order. Without xdist the order is pytest's.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    seconds: dict[str, float] = yaml.safe_load(SLOW_FILES.read_text())
    items.sort(key=lambda item: -seconds.get(Path(item.path).relative_to(REPO).as_posix(), 0.0))
