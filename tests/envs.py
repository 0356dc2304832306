"""Side environments for self-tests that run software which cannot share the suite's own venv.

MLServer 1.7.1 pins ``fastapi<0.116`` while the ``kserve`` 0.21 package the local target runs
needs a newer one, so the two cannot be installed together; KServe's own e2e tests need an older
``kubernetes`` client than the suite's. Each such program gets a venv of its own under
``.venvs/NAME`` in the checkout, created on first use from pinned requirements and reused while
the pins are unchanged (a marker file records them). Creating one is a package install from the
index, like ``pip install -e .``; nothing else is fetched.

    python -m tests.envs mlserver      # create (or reuse) it and print its bin directory

An environment can name the interpreter it is built from (``PYTHONS``) where the program needs
another Python than the suite's: inference-perf requires Python >= 3.12, which pyenv provides.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1] / ".venvs"

REQUIREMENTS: dict[str, tuple[str, ...]] = {
    # MLServer's image pins its dependencies; from PyPI today uvloop 0.22+ makes its inference-pool
    # workers die at start ("There is no current event loop"), so pin the uvloop its image uses.
    "mlserver": ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"),
    # KServe's own e2e tests (test/e2e): the SDK they import, and their conftest's and common/'s
    # imports. kubernetes 37 rejects the SDK's objects (pydantic dict_type error); upstream's lock
    # pins 32.0.1. The tests use @pytest.mark.asyncio(scope=...) and override event_loop, which
    # pytest-asyncio 1.0 removed; 0.23 needs pytest < 9. pytest-timeout bounds their 600 s waits.
    "kserve-e2e": (
        "kserve==0.21.0",
        "kubernetes==32.0.1",
        "pytest==8.3.5",
        "pytest-asyncio==0.23.8",
        "pytest-timeout==2.4.0",
        "httpx-retries==0.4.6",
        "portforward==0.7.6",
        "orjson==3.13.0",
        "requests==2.32.5",
        "pytest-xdist==3.6.1",
    ),
    # The LLM load bench's peers (bench/llm_load_fidelity.py). GuideLLM pulls torch: the pin keeps
    # pip on the CPU wheel on local disk instead of a CUDA build of several GB.
    "inference-perf": ("inference-perf==0.7.0",),
    "guidellm": ("guidellm==0.8.1", "torch==2.13.0"),
}

# Environments built from another interpreter than the suite's (default: the running one).
PYTHONS: dict[str, str] = {"inference-perf": "/root/.pyenv/versions/3.12.1/bin/python"}


class EnvError(RuntimeError):
    pass


def ensure(name: str) -> Path:
    """The ``bin`` directory of the named environment, creating or refreshing it if needed."""
    try:
        wanted = "\n".join(REQUIREMENTS[name]) + "\n"
        python = PYTHONS.get(name)
        if python is not None:
            wanted += f"python: {python}\n"
    except KeyError:
        raise EnvError(f"unknown environment {name!r}; known: {sorted(REQUIREMENTS)}") from None
    home = ROOT / name
    marker = home / ".requirements"
    ROOT.mkdir(exist_ok=True)
    with FileLock(str(ROOT / f"{name}.lock")):
        if marker.exists() and marker.read_text() == wanted:
            return home / "bin"
        if python is None:
            venv.EnvBuilder(clear=True, with_pip=True).create(home)
        else:
            subprocess.run([python, "-m", "venv", "--clear", str(home)], check=True, capture_output=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        done = subprocess.run([*pip, *REQUIREMENTS[name]], capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise EnvError(f"cannot install the {name} environment ({' '.join(REQUIREMENTS[name])}): {tail}")
        marker.write_text(wanted)
    return home / "bin"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m tests.envs {{{','.join(sorted(REQUIREMENTS))}}}", file=sys.stderr)
        return 2
    try:
        print(ensure(argv[0]))
    except EnvError as err:
        print(f"tests.envs: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
