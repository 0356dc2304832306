"""A real Prometheus as the target's monitoring system, published as ``Service monitoring/prometheus``.

When a ``prometheus`` binary is on PATH (Debian's package, which CI installs) or named with
``--prometheus``, the target starts it beside its API server, with its data directory in the state
directory and the scrape job in ``data/prometheus.yaml`` (the community's annotation-driven pod
job). It discovers pods through the target's API server (``pod_sd``), and is stored as a cluster's
Prometheus is found: ``Service monitoring/prometheus`` (port 9090, ``web``) and its ``Endpoints``
(127.0.0.1 and the real port, once ``/-/ready`` answers), so clients reach it through the API
server's service proxy and in-cluster components through ``prometheus.monitoring.svc:9090``.
Without a binary the target runs without monitoring and says so in its log and ``target.json``.

Prometheus is the target's child and stops with it, as the model servers do
(``kubelet.stop_process``: SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import string
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kserve_local.apiserver.resources import BY_KIND
from kserve_local.apiserver.store import NAMESPACES, Obj, Store
from kserve_local.kubelet import free_port, stop_process
from kserve_local.monitoring.pod_sd import PodDiscovery
from kserve_local.timeouts import PROBE_S, PROMETHEUS_STARTUP_S

log = logging.getLogger(__name__)
CONFIG = Path(__file__).parent / "data" / "prometheus.yaml"
NAMESPACE, NAME, PORT, PORT_NAME = "monitoring", "prometheus", 9090, "web"
DEFAULT_BINARY = "prometheus"
# Scrape, discovery and rule evaluation every 2 s: a request is counted within seconds, not a minute.
INTERVAL = "2s"
SERVICE = BY_KIND[("v1", "Service")]
ENDPOINTS = BY_KIND[("v1", "Endpoints")]


def find_binary(option: str | None) -> tuple[Path | None, str]:
    """The Prometheus to run, or None and why not (for the log line and ``target.json``)."""
    if option == "none":
        return None, "monitoring off (--prometheus none)"
    name = option or DEFAULT_BINARY
    found = shutil.which(name)
    if found is None:
        fix = "install Debian's prometheus package or pass --prometheus BIN"
        return None, f"no Prometheus: {name!r} is not an executable on PATH ({fix})"
    return Path(found), ""


def render_config(pod_discovery_url: str, interval: str = INTERVAL) -> str:
    return string.Template(CONFIG.read_text()).substitute(interval=interval, pod_discovery_url=pod_discovery_url)


def service_object(target_port: int) -> Obj:
    labels = {"app.kubernetes.io/name": NAME}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": PORT_NAME, "port": PORT, "targetPort": target_port, "protocol": "TCP"}],
        },
    }


def endpoints_object(port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": NAME}},
        "subsets": [
            {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}
        ],
    }


class Monitoring:
    """Prometheus and its pod discovery, started and stopped with the target."""

    def __init__(self, store: Store, state_dir: Path, binary: Path) -> None:
        self.store, self.binary = store, binary
        self.dir = state_dir / "prometheus"
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self._discovery: web.AppRunner | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "prometheus.log"

    async def start(self, kubeconfig: Path) -> dict[str, Any]:
        """Start discovery and Prometheus; the Endpoints follow once it is ready (a task)."""
        self._discovery = web.AppRunner(PodDiscovery(kubeconfig).app(), access_log=None)
        await self._discovery.setup()
        site = web.TCPSite(self._discovery, "127.0.0.1", 0)
        await site.start()
        discovery_port = self._discovery.addresses[0][1]
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        config.write_text(render_config(f"http://127.0.0.1:{discovery_port}/pods"))
        await self._store_service()
        with self.log_path.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(self.binary),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                stdout=out,
                stderr=out,
            )
        self._watch = asyncio.get_running_loop().create_task(self._run(self.process))
        log.info("monitoring: %s (pid %s) on %s, log %s", self.binary, self.process.pid, self.url, self.log_path)
        return {"url": self.url, "binary": str(self.binary), "pid": self.process.pid, "log": str(self.log_path)}

    async def _store_service(self) -> None:
        if self.store.find(NAMESPACES, "", NAMESPACE) is None:
            await self.store.create(NAMESPACES, "", {"metadata": {"name": NAMESPACE}})
        await self.store.create(SERVICE, NAMESPACE, service_object(self.port))

    async def _run(self, process: asyncio.subprocess.Process) -> None:
        """Ready → Endpoints stored; exited → Endpoints removed and the log's last line logged."""
        waited = await self._ready(process)
        if waited is not None:
            log.info("monitoring: Prometheus ready after %.1fs", waited)
            await self.store.create(ENDPOINTS, NAMESPACE, endpoints_object(self.port))
        elif process.returncode is None:
            log.error("monitoring: Prometheus not ready within %.0fs; see %s", PROMETHEUS_STARTUP_S, self.log_path)
        code = await process.wait()
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        log.error("monitoring: Prometheus exited with %s: %s", code, tail[0])
        with contextlib.suppress(Exception):
            await self.store.delete(ENDPOINTS, NAMESPACE, NAME)

    async def _ready(self, process: asyncio.subprocess.Process) -> float | None:
        """Seconds until ``/-/ready`` answered 200; None if it exited or the start-up budget ran out."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_S)) as session:
            while process.returncode is None and loop.time() < started + PROMETHEUS_STARTUP_S:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{self.url}/-/ready") as response:
                        if response.status == 200:
                            return loop.time() - started
                await asyncio.sleep(0.1)
        return None

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.process is not None:
            await stop_process(self.process)
        if self._discovery is not None:
            await self._discovery.cleanup()
