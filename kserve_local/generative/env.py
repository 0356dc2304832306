"""The generative runtimes' image: a venv with torch, vLLM and KServe, built once per set of pins.

KServe ships its Hugging Face and vLLM runtimes as container images; the local target runs
processes, so their "image" is a venv under the user's cache, named by a hash of the pins
(``data/requirements.txt``), so that a changed pin builds a new one beside the old. Building it
takes minutes and gigabytes, so it happens only when a generative service is about to start: the
suite's provider calls ``python -m kserve_local.generative ensure`` first (progress on stderr), and
the kubelet calls :func:`ensure` itself if a pod needs it anyway. A file lock makes parallel
processes build it once; a marker file written last means "complete", so an interrupted build is
redone rather than used.

Two measured facts shape the build: pip also installs torchvision, torchaudio and torchcodec
(vLLM depends on them), whose wheels do not load against the local torch build, and torchcodec's
``OSError`` crashes vLLM's API server at start-up; they are uninstalled after the install.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

REQUIREMENTS = Path(__file__).parent / "data" / "requirements.txt"
# Companions vLLM pulls in whose native libraries do not load against the local torch build.
BROKEN_COMPANIONS = ("torchvision", "torchaudio", "torchcodec")
MARKER = ".kserve-conformance-complete"
PROGRESS_EVERY_S = 15.0


class EnvError(RuntimeError):
    """The generative venv could not be built; the message names the failing package."""


def cache_root() -> Path:
    """``$KSERVE_CONFORMANCE_CACHE``, else ``$XDG_CACHE_HOME/kserve-conformance``, else ``~/.cache/...``."""
    explicit = os.environ.get("KSERVE_CONFORMANCE_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kserve-conformance"


def pins(requirements: Path = REQUIREMENTS) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


def env_dir(requirements: Path = REQUIREMENTS) -> Path:
    """Where the venv for these pins lives (comments and order of the file do not matter)."""
    digest = hashlib.sha256("\n".join(sorted(pins(requirements))).encode()).hexdigest()[:12]
    return cache_root() / f"generative-{digest}"


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def is_built(requirements: Path = REQUIREMENTS) -> bool:
    return (env_dir(requirements) / MARKER).exists()


def _stderr(line: str) -> None:
    print(f"[generative env] {line}", file=sys.stderr, flush=True)


def ensure(
    requirements: Path = REQUIREMENTS, progress: Callable[[str], None] = _stderr, base_python: str = sys.executable
) -> Path:
    """The venv's python, building the venv first (from ``base_python``) if it is not complete yet."""
    env = env_dir(requirements)
    if (env / MARKER).exists():
        return python_of(env)
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.parent / f"{env.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it: wait for it
        if not (env / MARKER).exists():
            _build(env, requirements, progress, base_python)
    return python_of(env)


def _build(env: Path, requirements: Path, progress: Callable[[str], None], base_python: str) -> None:
    start = time.monotonic()
    wanted = pins(requirements)
    log = env.parent / f"{env.name}.install.log"
    progress(f"building {env} ({', '.join(wanted)}); this takes several minutes, log {log}")
    with log.open("w") as out:
        _run([base_python, "-m", "venv", "--clear", str(env)], out, "the venv itself", start, progress)
        python = str(python_of(env))
        _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], out, "pip", start, progress)
        install = [python, "-m", "pip", "install", "--no-cache-dir", "-r", str(requirements)]
        _run(install, out, _failing(wanted, log), start, progress)
        _run([python, "-m", "pip", "uninstall", "-y", *BROKEN_COMPANIONS], out, "the uninstall", start, progress)
    (env / MARKER).write_text("\n".join(wanted) + "\n")
    size = sum(f.stat().st_size for f in env.rglob("*") if f.is_file() and not f.is_symlink())
    progress(f"ready in {time.monotonic() - start:.0f} s, {size / 1e9:.2f} GB: {python_of(env)}")


def _failing(wanted: list[str], log: Path) -> Callable[[], str]:
    """The package pip failed on, read from the last ``ERROR:`` lines of its log."""

    def name() -> str:
        errors = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("ERROR:")]
        names = {re.split(r"[=<>!~\[ ]", pin, maxsplit=1)[0].lower(): pin for pin in wanted}
        for line in reversed(errors):
            for key, pin in names.items():
                if re.search(rf"\b{re.escape(key)}\b", line.lower()):
                    return f"{pin} ({line.removeprefix('ERROR:').strip()})"
        return f"one of {', '.join(wanted)} ({errors[-1] if errors else 'no ERROR line'})"

    return name


def _run(
    argv: list[str], out: TextIO, what: str | Callable[[], str], start: float, progress: Callable[[str], None]
) -> None:
    """Run one build step, saying how long the build has taken every ``PROGRESS_EVERY_S``."""
    step = " ".join(argv[2:4])  # "pip install", "venv --clear"
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    while True:
        try:
            code = process.wait(PROGRESS_EVERY_S)
            break
        except subprocess.TimeoutExpired:
            progress(f"{step}: still running, {time.monotonic() - start:.0f} s elapsed")
    if code != 0:
        name = what() if callable(what) else what
        raise EnvError(f"generative env: {step} failed for {name}; log {out.name}")
