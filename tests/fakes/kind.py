#!/usr/bin/env python3
"""A stand-in for the ``kind`` binary, for machines without Docker.

It keeps its "clusters" in $FAKE_KIND_STATE/clusters, records every call (argv) in
$FAKE_KIND_STATE/calls.jsonl, and for ``create cluster`` / ``export kubeconfig`` writes the
kubeconfig of $FAKE_KIND_KUBECONFIG (the local target's) where kind would write the new
cluster's. $FAKE_KIND_FAIL=create|all makes it fail as kind does without a Docker engine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

DOCKER_DOWN = (
    'ERROR: failed to create cluster: failed to get docker info: command "docker info" failed: '
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
)


def flag(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
    return None


def main() -> int:
    state = Path(os.environ["FAKE_KIND_STATE"])
    args = sys.argv[1:]
    with (state / "calls.jsonl").open("a") as log:
        log.write(json.dumps(args) + "\n")
    fail = os.environ.get("FAKE_KIND_FAIL", "")
    clusters_file = state / "clusters"
    clusters = clusters_file.read_text().split() if clusters_file.exists() else []
    if fail == "all" or (fail == "create" and args[:2] == ["create", "cluster"]):
        print(DOCKER_DOWN, file=sys.stderr)
        return 1
    if args[:2] == ["get", "clusters"]:
        if clusters:
            print("\n".join(clusters))
        else:
            print("No kind clusters found.", file=sys.stderr)
        return 0
    name = flag(args, "name") or "kind"
    if args[:2] in (["create", "cluster"], ["export", "kubeconfig"]):
        if args[0] == "create" and name in clusters:
            print(
                f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"',
                file=sys.stderr,
            )
            return 1
        shutil.copy(os.environ["FAKE_KIND_KUBECONFIG"], flag(args, "kubeconfig") or Path.home() / ".kube/config")
        if args[0] == "create":
            clusters_file.write_text("\n".join([*clusters, name]))
        return 0
    if args[:2] == ["delete", "cluster"]:
        clusters_file.write_text("\n".join(c for c in clusters if c != name))
        return 0
    print(f"fake kind: unsupported {args}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
