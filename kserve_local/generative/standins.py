"""Which hub model ids and URIs the tiny model stands in for, and where the built model lives.

The table is data (``data/standins.yaml``): the ids KServe's generative e2e tests and the suite's
manifests name, each with a line saying what it is. A stand-in is never silent: whoever maps one
says so (the controller in an Event, the model server in its log), naming the id and the model.

The model is built once per version of its builder and corpus, into the cache beside the
generative venv (``tiny-lm-<hash>``), by running ``tiny_lm`` with the venv's python (the target's
own environment has no tokenizers or safetensors). Standard library and PyYAML only: the target
imports this.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from kserve_local.generative.env import cache_root

DATA = Path(__file__).parent / "data"
TABLE = DATA / "standins.yaml"
BUILDER = Path(__file__).parent / "tiny_lm.py"
CORPUS = DATA / "tiny_lm_corpus.txt"
MARKER = ".kserve-conformance-complete"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding kserve_local


class ModelBuildError(RuntimeError):
    """The tiny model could not be built."""


@dataclass(frozen=True)
class StandIn:
    id: str
    description: str
    model: str  # the stand-in's own name (tiny-lm)

    def announcement(self, where: Path) -> str:
        """The one line that says a stand-in serves this id (Events and pod logs)."""
        return f"{self.id} is served by the local stand-in model {self.model} ({where}): {self.description}"


@cache
def table() -> dict[str, StandIn]:
    spec = yaml.safe_load(TABLE.read_text())
    return {e["id"]: StandIn(e["id"], e["description"], spec["model"]) for e in spec["standins"]}


def lookup(ref: str) -> StandIn | None:
    """The stand-in for a model id or storageUri, if the table has one (a trailing slash ignored)."""
    return table().get(ref.rstrip("/"))


def model_dir() -> Path:
    """Where the tiny model is (or will be) built: keyed by its builder and corpus."""
    digest = hashlib.sha256(BUILDER.read_bytes() + b"\0" + CORPUS.read_bytes()).hexdigest()[:12]
    return cache_root() / f"tiny-lm-{digest}"


def is_built() -> bool:
    return (model_dir() / MARKER).exists()


def ensure_model(python: Path | str = sys.executable) -> Path:
    """The tiny model's directory, built with ``python`` (the generative venv's) if missing."""
    dest = model_dir()
    if (dest / MARKER).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f"{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / MARKER).exists():
            return dest
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        done = subprocess.run(
            [str(python), "-m", "kserve_local.generative.tiny_lm", str(tmp)], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ModelBuildError(f"building the tiny model with {python} failed: {tail}")
        (tmp / MARKER).write_text(json.dumps(json.loads(done.stdout.splitlines()[-1]) | {"dir": str(dest)}) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)  # complete or absent: a reader never sees half a model
    return dest
