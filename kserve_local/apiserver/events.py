"""Events, as a controller's event recorder writes them (``kubectl describe`` shows them).

One recorder is shared by every component that reports on an InferenceService (the controller,
the kubelet, the autoscaler), so event names never collide. Best effort, as on a cluster: an
event that cannot be written (a namespace being deleted) is dropped.
"""

from __future__ import annotations

import contextlib

from kserve_local.apiserver.resources import INFERENCESERVICES, RESOURCES
from kserve_local.apiserver.store import Obj, Store, now

EVENTS = next(r for r in RESOURCES if r.plural == "events")
SOURCE = "kserve-conformance-local"


class Recorder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._count = 0

    async def record(self, isvc: Obj, kind: str, reason: str, message: str, component: str = SOURCE) -> None:
        """An event about ``isvc`` (or another stored object: a ScaledObject): ``kind`` is Normal or
        Warning; ``component`` the reporting controller (``source.component``)."""
        self._count += 1
        meta = isvc["metadata"]
        with contextlib.suppress(Exception):  # the namespace may be terminating; events are best effort
            await self.store.create(
                EVENTS,
                meta["namespace"],
                {
                    "metadata": {"name": f"{meta['name']}.{self._count:06d}"},
                    "involvedObject": {
                        "apiVersion": isvc.get("apiVersion", INFERENCESERVICES.api_version),
                        "kind": isvc.get("kind", INFERENCESERVICES.kind),
                        "name": meta["name"],
                        "namespace": meta["namespace"],
                        "uid": meta["uid"],
                    },
                    "type": kind,
                    "reason": reason,
                    "message": message,
                    "count": 1,
                    "firstTimestamp": now(),
                    "lastTimestamp": now(),
                    "source": {"component": component},
                },
            )
