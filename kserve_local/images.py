"""The container images this target's kubelet can run, and how each becomes a process.

A cluster pulls an image and runs its entrypoint; here every image is a program on this machine,
described in ``data/images.yaml``: its entrypoint, whether it runs in the generative venv, and the
flags the kubelet must rewrite because every container here shares one network namespace (ports)
and one filesystem (``/mnt/models``). The scikit-learn image keeps its own launch path in the
kubelet (it is the one whose flags the model server translates); the generative images run the
runtime's own command line, as a container would.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

IMAGES = Path(__file__).parent / "data" / "images.yaml"
MOUNT = "/mnt/models"  # where KServe's storage initializer puts the model in a pod


@dataclass(frozen=True)
class Image:
    name: str
    description: str
    entrypoint: tuple[str, ...]
    generative: bool
    http_port_flag: str = ""
    grpc_port_flag: str = ""
    model_dir_flag: str = ""
    model_flags: tuple[str, ...] = ()
    probe: str = ""


@cache
def images() -> dict[str, Image]:
    table = yaml.safe_load(IMAGES.read_text())
    return {
        name: Image(
            name,
            spec["description"],
            tuple(spec["entrypoint"]),
            bool(spec["generative"]),
            spec.get("http_port_flag", ""),
            spec.get("grpc_port_flag", ""),
            spec.get("model_dir_flag", ""),
            tuple(spec.get("model_flags", ())),
            spec.get("probe", ""),
        )
        for name, spec in table.items()
    }


def set_flag(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with ``flag`` set to ``value``: every ``--flag=v`` / ``--flag v`` replaced, else appended."""
    out, found, i = [], False, 0
    while i < len(args):
        arg = args[i]
        if arg == flag and i + 1 < len(args):
            out += [f"{flag}={value}"]
            found, i = True, i + 2
            continue
        if arg.startswith(flag + "="):
            out.append(f"{flag}={value}")
            found = True
        else:
            out.append(arg)
        i += 1
    return out if found else [*out, f"{flag}={value}"]


def flag_values(args: list[str], flag: str) -> list[str]:
    """Every value given to ``flag`` (``--flag=v`` or ``--flag v``)."""
    values = []
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            values.append(arg.split("=", 1)[1])
        elif arg == flag and i + 1 < len(args):
            values.append(args[i + 1])
    return values
