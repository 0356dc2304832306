"""The wheel holds every package and data file of the four source directories, and the checks collect from it.

A hand-kept package list once left ``kserve_conformance.load.llm`` out, and a pattern per file
type left the generative runtimes' ``.txt`` data out: ``pip install .`` then failed at the first
import, which an editable install (every self-test's) never shows. So the wheel is built from a
copy of the checkout, installed into a fresh venv, and the checks are collected from it in a
directory that is not the checkout. Nothing is downloaded: the new venv reaches this venv's
packages through a ``.pth`` line, a plain directory entry, so this venv's editable-install hook
(itself a ``.pth`` that runs code) is not run there; ``kserve_conformance`` can only come from the wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.controls.runner import REPO, suite_env

# Where each source directory installs (pyproject.toml's package-dir): all of it, and only it.
INSTALLED_AS = {
    "kserve_conformance": "kserve_conformance",
    "conformance": "kserve_conformance/conformance",
    "fixtures": "kserve_conformance/fixtures",
    "kserve_local": "kserve_local",
}
NOT_SOURCE = {".git", ".venv", ".venvs", ".tox", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache"}
NOT_SOURCE |= {".pytest_cache", ".benchmarks", ".pytest-kind"}

# Run inside the collecting process (``-p``): what it imported the checks from, and whether
# collection started anything (the local target must wait for a check to need it). pytest-benchmark
# asks git, hg and file for its commit and machine info in every run: those are not the suite's.
PROBE = """
import json
import os
import shlex
import subprocess

import psutil

started = []
_popen_init = subprocess.Popen.__init__


def _record(self, args, *rest, **kwargs):
    argv = shlex.split(args) if isinstance(args, str) else [os.fspath(a) for a in args]
    if os.path.basename(argv[0]) not in ("git", "hg", "file"):
        started.append(" ".join(argv))
    _popen_init(self, args, *rest, **kwargs)


subprocess.Popen.__init__ = _record


def pytest_collection_finish(session):
    import kserve_conformance, kserve_local

    probe = {
        "modules": [kserve_conformance.__file__, kserve_local.__file__],
        "started": [*started, *(" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True))],
        "files": sorted({str(item.path) for item in session.items}),
    }
    print("PROBE " + json.dumps(probe))
"""


def ignore_non_source(directory: str, names: list[str]) -> set[str]:
    """What ``pip wheel .`` would not see in a clean clone; reports/ keeps only its tracked README."""
    ignored = {n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")}
    if Path(directory) == REPO / "reports":
        ignored |= {n for n in names if n != "README.md"}
    return ignored


def expected_files() -> set[str]:
    """Every file of the four directories at its installed path (modules and data alike)."""
    return {
        f"{target}/{path.relative_to(REPO / source).as_posix()}"
        for source, target in INSTALLED_AS.items()
        for path in (REPO / source).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def run(*args: str | Path, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env or suite_env()
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def checks(output: str) -> list[str]:
    """Collected node ids from the check's file name on (the rootdir differs between the two runs)."""
    ids = (line.partition("::") for line in output.splitlines() if "::" in line)
    return sorted(f"{Path(path).name}::{rest}" for path, _, rest in ids)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=ignore_non_source)  # the build writes build/ and egg-info
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", work, src)
    (built,) = work.glob("*.whl")
    return built


def test_the_wheel_holds_every_package_and_data_file_and_nothing_else(wheel: Path) -> None:
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    expected = expected_files()
    assert names == expected, f"missing: {sorted(expected - names)}; unexpected: {sorted(names - expected)}"
    assert any(n.endswith("/data/tiny_lm_corpus.txt") for n in names)  # the control: data of every type
    assert "kserve_conformance/load/llm/__init__.py" in names


def test_the_checks_collect_from_the_installed_wheel(wheel: Path) -> None:
    work = wheel.parent
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "this-venvs-packages.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel)
    elsewhere = work / "elsewhere"
    (elsewhere / "probe").mkdir(parents=True)
    (elsewhere / "probe" / "kserve_conformance_test_probe.py").write_text(PROBE)
    env = suite_env(PYTHONPATH=str(elsewhere / "probe"))
    args = ("--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    installed = run(
        python, "-m", "pytest", "--pyargs", "kserve_conformance.conformance", *args,
        "-p", "kserve_conformance_test_probe", cwd=elsewhere, env=env,
    )  # fmt: skip
    checkout = run(sys.executable, "-m", "pytest", *args)
    for bad in ("ImportError", "ModuleNotFoundError", "INTERNALERROR"):
        assert bad not in installed, installed[-3000:]
    (probe,) = (json.loads(line.removeprefix("PROBE ")) for line in installed.splitlines() if line.startswith("PROBE "))
    assert all(Path(m).is_relative_to(venv) for m in probe["modules"]), f"imported from {probe['modules']}"
    assert all(Path(f).is_relative_to(venv) for f in probe["files"]), f"collected from {probe['files']}"
    assert probe["started"] == [], f"collection started processes: {probe['started']}"
    assert checks(installed) == checks(checkout), (
        f"installed: {len(checks(installed))} checks, checkout: {len(checks(checkout))}; "
        f"only installed: {sorted(set(checks(installed)) - set(checks(checkout)))[:10]}; "
        f"only checkout: {sorted(set(checks(checkout)) - set(checks(installed)))[:10]}"
    )
    assert checks(checkout), checkout[-2000:]  # the control: there were checks to compare
