"""The ServiceAccount controller of kube-controller-manager: a ``default`` ServiceAccount in every namespace.

Clients count on it: KServe's llmisvc e2e tests patch the ``default`` ServiceAccount of each
namespace they create (retrying while it does not exist yet, as it appears shortly after the
namespace on a real cluster), and a Pod without ``serviceAccountName`` runs as it.
"""

from __future__ import annotations

from kserve_local.apiserver.resources import SERVICEACCOUNTS
from kserve_local.apiserver.store import NAMESPACES, ApiError, Store

DEFAULT = "default"


async def run(store: Store) -> None:
    """Create ``default`` in each namespace that is Active and lacks it, as the namespaces come."""
    async for event in store.watch(NAMESPACES, since=None):
        ns = event.object
        name = ns["metadata"]["name"]
        if event.type == "DELETED" or ns.get("status", {}).get("phase") != "Active":
            continue
        if store.find(SERVICEACCOUNTS, name, DEFAULT) is not None:
            continue
        try:
            await store.create(SERVICEACCOUNTS, name, {"metadata": {"name": DEFAULT}})
        except ApiError as err:  # raced with a client's own create, or the namespace went away
            if err.code not in (403, 404, 409):
                raise
