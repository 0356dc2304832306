"""``--kserve-cluster=kind`` without Docker: a stand-in ``kind`` (tests/fakes/kind.py) records every call
and hands out the local target's kubeconfig as the "created" cluster's, so the create / reuse /
keep / delete logic, the install plan and the failure lines are exercised for real. Nothing here
proves that kind or the pinned manifests work on Docker: that needs a machine with an engine.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from kserve_conformance.providers.kind_install import plan, releases
from kserve_conformance.providers.local import LocalOptions, LocalTargetProcess
from tests.controls.runner import Run, run_suite

FAKES = Path(__file__).resolve().parents[1] / "fakes"
NAME = "kserve-conformance-selftest"
# A check that reads the cluster and deploys nothing: the keep and reuse runs judge what happens to
# the cluster, and a deployed model server would cost each about a minute under CI's parallel pass.
ONE_CHECK = "controller_ready"


class FakeKind:
    def __init__(self, tmp: Path, target: LocalTargetProcess, fail: str = "") -> None:
        self.state = tmp / "kind-state"
        self.state.mkdir()
        self.bin = tmp / "kind"
        self.bin.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKES / "kind.py"} "$@"\n')
        self.bin.chmod(0o755)
        self.kubectl_log = tmp / "kubectl.jsonl"
        self.kubectl = tmp / "kubectl"
        self.kubectl.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKES / "kubectl_record.py"} "$@"\n')
        self.kubectl.chmod(0o755)
        self.env = {
            "FAKE_KIND_STATE": str(self.state),
            "FAKE_KIND_KUBECONFIG": str(target.kubeconfig),
            "FAKE_KIND_FAIL": fail,
            "FAKE_KUBECTL_LOG": str(self.kubectl_log),
        }
        self.kubeconfig = tmp / "kind-kubeconfig"

    def run(self, tmp: Path, *args: str) -> Run:
        return run_suite(
            tmp,
            "-s",
            "--kserve-cluster=kind",
            f"--kind-bin={self.bin}",
            f"--cluster-name={NAME}",
            f"--kubeconfig={self.kubeconfig}",
            f"--kind-kubectl-bin={self.kubectl}",
            *args,
            env=self.env,
        )

    def calls(self) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def verbs(self) -> list[str]:
        """What the run did to kind's clusters (the read-only ``get clusters`` calls left out)."""
        return [" ".join(c[:2]) for c in self.calls() if c[:2] != ["get", "clusters"]]

    def kubectl_calls(self) -> list[list[str]]:
        if not self.kubectl_log.exists():
            return []
        return [json.loads(line)["args"] for line in self.kubectl_log.read_text().splitlines()]

    def clusters(self) -> list[str]:
        path = self.state / "clusters"
        return path.read_text().split() if path.exists() else []


@pytest.fixture
def kind(tmp_path: Path, target: LocalTargetProcess) -> FakeKind:
    return FakeKind(tmp_path, target)


def test_creates_the_cluster_runs_the_walkthrough_and_deletes_what_it_created(kind: FakeKind, tmp_path: Path) -> None:
    run = kind.run(tmp_path, "-k", "predict_tutorial or status_url")
    assert run.returncode == 0, run.output[-3000:]
    assert kind.calls()[0] == ["get", "clusters"], "ownership is decided before anything is created"
    assert kind.verbs() == ["create cluster", "delete cluster"], kind.calls()
    create = next(c for c in kind.calls() if c[0] == "create")
    assert f"--name={NAME}" in create
    assert f"--image={releases()['kind']['nodeImage']}" in create
    assert "KServe is already installed: skipping the install" in run.output
    assert kind.kubectl_calls() == [], "nothing is installed when KServe is there"
    assert kind.clusters() == []


def test_keep_cluster_keeps_what_it_created(kind: FakeKind, tmp_path: Path) -> None:
    run = kind.run(tmp_path, "--keep-cluster", "-k", ONE_CHECK)
    assert run.returncode == 0, run.output[-3000:]
    assert "delete cluster" not in kind.verbs()
    assert kind.clusters() == [NAME]
    assert f"kind delete cluster --name={NAME}" in run.output


def test_reuses_an_existing_cluster_and_never_deletes_it(kind: FakeKind, tmp_path: Path) -> None:
    (kind.state / "clusters").write_text(NAME)
    run = kind.run(tmp_path, "-k", ONE_CHECK)  # no --keep-cluster: it still must not be deleted
    assert run.returncode == 0, run.output[-3000:]
    assert kind.verbs() == ["export kubeconfig"], kind.calls()
    assert kind.clusters() == [NAME]
    assert "it existed before this run: it will be kept" in run.output


@pytest.mark.parametrize("target", [LocalOptions(faults=("no-kserve",))], indirect=True)
def test_installs_kserve_by_the_plan_when_absent(kind: FakeKind, tmp_path: Path) -> None:
    """The recording kubectl installs nothing, so the run then stops on the missing CRD, in one line."""
    run = kind.run(tmp_path, "--kserve-deployment-mode=Knative", "--kserve-version=v0.21.0")
    expected = [list(step.args) for step in plan("v0.21.0", "Knative")]
    assert kind.kubectl_calls() == expected
    assert run.returncode == 4 and "KServe is not installed" in run.output, run.output[-2000:]
    assert "Traceback" not in run.output
    assert kind.verbs()[-1] == "delete cluster", "the cluster it created is deleted even when setup fails"


@pytest.mark.parametrize(
    ("fail", "words"),
    [
        ("create", f"`kind create cluster --name={NAME}` failed (exit 1)"),
        ("all", "`kind get clusters` failed (exit 1): ERROR: failed to create cluster: failed to get docker info"),
    ],
)
def test_a_failing_kind_ends_in_one_line_within_seconds(kind: FakeKind, tmp_path: Path, fail: str, words: str) -> None:
    kind.env["FAKE_KIND_FAIL"] = fail
    started = time.monotonic()
    run = kind.run(tmp_path)
    elapsed = time.monotonic() - started
    assert run.returncode == 4 and words in run.output, run.output[-2000:]
    assert "Traceback" not in run.output
    print(f"failed in {elapsed:.1f}s")


def test_missing_kind_binary_ends_in_one_line(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--kserve-cluster=kind", f"--kind-bin={tmp_path / 'no-kind'}")
    assert run.returncode == 4 and "kind not found" in run.output and "--kind-bin" in run.output, run.output[-2000:]


@pytest.mark.parametrize("mode", ["Standard", "Knative"])
@pytest.mark.parametrize("version", sorted(releases()["releases"]))
def test_plan_installs_pinned_release_assets_in_order(version: str, mode: str) -> None:
    steps = plan(version, mode)
    stages = list(dict.fromkeys(s.stage for s in steps))
    assert stages == (
        ["cert-manager", "istio", "istio-ingress-class", "kserve", "kserve-cluster-resources"]
        if mode == "Standard"
        else ["cert-manager", "istio", "knative-serving", "kserve", "kserve-cluster-resources"]
    )
    urls = [a for s in steps for a in s.args if a.startswith("https://")]
    assert all("/releases/download/" in u for u in urls), "only published release assets"
    assert f"https://github.com/kserve/kserve/releases/download/{version}/kserve.yaml" in urls
    webhook = [i for i, s in enumerate(steps) if s.retry_until_ok]
    runtimes = next(i for i, s in enumerate(steps) if s.stage == "kserve-cluster-resources")
    assert len(webhook) == 1 and webhook[0] < runtimes, "runtimes go in only after the webhook answers"
    assert any(f'\\"defaultDeploymentMode\\": \\"{mode}\\"' in " ".join(s.args) for s in steps)


@pytest.mark.parametrize("target", [LocalOptions(faults=("no-kserve",))], indirect=True)
def test_a_failing_install_step_is_named_and_the_created_cluster_deleted(kind: FakeKind, tmp_path: Path) -> None:
    kind.env["FAKE_KUBECTL_FAIL"] = "cert-manager.yaml"
    run = kind.run(tmp_path)
    assert (
        run.returncode == 4
        and "installing cert-manager failed: `kubectl apply -f https://github.com/"
        "cert-manager/cert-manager/releases/download/v1.17.0/cert-manager.yaml` exited 1"
        in run.output
    ), run.output[-2000:]
    assert "Traceback" not in run.output
    assert kind.verbs() == ["create cluster", "delete cluster"]
    assert kind.clusters() == []
