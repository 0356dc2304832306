"""Without the ``local`` extra, ``--kserve-cluster=local`` (the default) ends in one line naming it.

The local target is a child process; a missing dependency used to surface as the last line of
its log ("the local target exited at start: ModuleNotFoundError: No module named 'jsonpatch'").
The suite now looks for every module of the extra before starting it. Each module is made
absent in turn, in a real run of the checks, by a plugin that puts ``None`` in ``sys.modules``
for it (what ``import`` and ``importlib.util.find_spec`` then report as not installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import Requirement

from kserve_conformance.providers.local import local_extra_modules, require_local_extra
from tests.controls.runner import REPO, suite_env

ABSENT = """
import os
import sys

for name in os.environ["KSERVE_CONFORMANCE_TEST_ABSENT"].split(","):
    sys.modules[name] = None
"""


def test_the_extra_is_read_from_the_installed_metadata() -> None:
    """The control: the modules checked are the extra pyproject.toml declares, and each is found here."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["local"]
    modules = local_extra_modules()
    assert sorted(modules) == sorted(Requirement(r).name for r in declared), (
        f"installed metadata lists {sorted(modules)}, pyproject.toml {declared}: reinstall (pip install -e '.[dev]')"
    )
    require_local_extra()  # every import name is right: the dev install has them all


def run_without(module: str, shim: Path, report_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "kserve_conformance_test_absent",
            "-p",
            "no:cacheprovider",
            "-q",
            "conformance/test_control_plane.py",
            "--kserve-cluster=local",
            f"--kserve-report-dir={report_dir}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,  # a bound on a hang, not a timing judged: the target must never start
        env=suite_env(
            KSERVE_CONFORMANCE_TEST_ABSENT=module,
            PYTHONPATH=os.pathsep.join([str(shim), *filter(None, [os.environ.get("PYTHONPATH")])]),
        ),
    )
    return done, time.monotonic() - started


def test_each_missing_module_ends_the_run_in_one_line(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "kserve_conformance_test_absent.py").write_text(ABSENT)
    modules = local_extra_modules()
    assert modules, "no local extra in the installed metadata"
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores: each run is mostly the checks' collection
        runs = dict(
            zip(
                modules,
                pool.map(lambda m: run_without(m, shim, tmp_path / m), modules.values()),
                strict=True,
            )
        )
    problems = []
    for dist, (done, seconds) in runs.items():
        module = modules[dist]
        output = done.stdout + done.stderr
        line = (
            f"kserve-conformance: the local target needs '{dist}' (module {module}), which is not installed"
            " — pip install 'kserve-conformance[local]'"
        )
        if done.returncode != 4 or output.count(line) != 1 or "Traceback" in output or "exited at start" in output:
            problems.append(f"without {module} (exit {done.returncode}, {seconds:.1f} s):\n{output[-1500:]}")
    assert not problems, "\n\n".join(problems)
