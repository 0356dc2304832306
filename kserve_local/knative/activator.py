"""Knative's activator: a request for a revision at zero replicas scales it to one.

The gateway holds the request (:meth:`Revision.wait_ready`) while the revision starts; the
``no-activator`` fault leaves the revision at zero, so the request gets a 503 at once.
"""

from __future__ import annotations

from kserve_local.apiserver.resources import INFERENCESERVICES
from kserve_local.apiserver.store import Store
from kserve_local.faults import Fault, Faults
from kserve_local.knative.revision import Revision
from kserve_local.kubelet import Kubelet


class Activator:
    def __init__(self, store: Store, kubelet: Kubelet, faults: Faults) -> None:
        self.store, self.kubelet, self.faults = store, kubelet, faults

    async def activate(self, revision: Revision) -> None:
        if revision.replicas or Fault.NO_ACTIVATOR in self.faults:
            return
        isvc = self.store.find(INFERENCESERVICES, revision.namespace, revision.isvc)
        if isvc is not None:
            await self.kubelet.scale(isvc, revision, 1)
