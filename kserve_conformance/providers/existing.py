"""``--kserve-cluster=existing``: the cluster the kubeconfig points at, used as it is."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes.config.config_exception import ConfigException

from kserve_conformance.errors import SetupError
from kserve_conformance.providers.base import TUTORIAL_RATE, ClusterAccess, api_client


class ExistingProvider:
    name = "existing"
    load_rate = TUTORIAL_RATE

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        self.kubeconfig = Path(kubeconfig).expanduser() if kubeconfig else None
        self.context = context

    def start(self) -> ClusterAccess:
        source = self.kubeconfig or Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
        source = source.expanduser()
        if not source.exists():
            raise SetupError(
                f"no kubeconfig at {source}",
                "set KUBECONFIG or pass --kubeconfig PATH (and --kserve-kube-context NAME)",
            )
        try:
            api = api_client(source, self.context)
        except ConfigException as err:
            raise SetupError(
                f"kubeconfig {source} is not usable: {err}",
                "check the file, or pick a context with --kserve-kube-context",
            ) from err
        return ClusterAccess(api, source, self.context, f"existing cluster ({api.configuration.host})")

    def stop(self) -> None:
        """Nothing to undo: the suite did not create this cluster."""
