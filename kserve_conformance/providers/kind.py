"""``--cluster=kind``: not built yet (issue 5)."""

from __future__ import annotations

from kserve_conformance.errors import SetupError
from kserve_conformance.providers.base import ClusterAccess


class KindProvider:
    name = "kind"

    def start(self) -> ClusterAccess:
        raise SetupError("--cluster=kind is not available in this version of kserve-conformance",
                         "use --cluster=local, or --cluster=existing with a kubeconfig for your kind cluster")

    def stop(self) -> None:
        """Nothing was started."""
