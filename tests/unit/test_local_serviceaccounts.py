"""The local target's ServiceAccount controller: ``default`` in every namespace, as on a cluster."""

from __future__ import annotations

import asyncio

from kserve_local import serviceaccounts
from kserve_local.apiserver.resources import RESOURCES, SERVICEACCOUNTS
from kserve_local.apiserver.store import NAMESPACES, Store


def test_every_namespace_gets_a_default_service_account() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        store = Store(RESOURCES)
        await store.create(NAMESPACES, "", {"metadata": {"name": "before"}})
        task = asyncio.create_task(serviceaccounts.run(store))
        await store.create(NAMESPACES, "", {"metadata": {"name": "after"}})
        for _ in range(100):  # the controller runs on this loop: yield to it until it has caught up
            if len(store.list(SERVICEACCOUNTS)) == 2:
                break
            await asyncio.sleep(0)
        task.cancel()
        accounts = store.list(SERVICEACCOUNTS)
        return [a["metadata"]["namespace"] for a in accounts], [a["metadata"]["name"] for a in accounts]

    namespaces, names = asyncio.run(scenario())
    assert namespaces == ["after", "before"] and names == ["default", "default"]
