"""The local target's API server on a loopback port, in its own event-loop thread, for client-side tests.

Several unit tests drive the API server with the official kubernetes client, as the suite drives a
cluster; they share this one way to start and stop it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web
from kubernetes import client

from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.server import ApiServer
from kserve_local.apiserver.store import Store


@contextmanager
def loopback_api(make_store: Callable[[], Store] = lambda: Store(RESOURCES)) -> Iterator[client.ApiClient]:
    """A client for an API server over ``make_store()`` (built in the server's own loop), stopped on exit."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []
    stop: list[asyncio.Event] = []

    async def main() -> None:
        runner = web.AppRunner(ApiServer(make_store(), lambda ns, name: None).app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port.append(runner.addresses[0][1])
        stop.append(asyncio.Event())
        started.set()
        await stop[0].wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "the loopback API server did not start within 30 s"
    cfg = client.Configuration()
    cfg.host = f"http://127.0.0.1:{port[0]}"
    try:
        yield client.ApiClient(cfg)
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
