"""The local target process: API server, reconciler and gateway on loopback, in one event loop.

It runs as its own process (``python -m kserve_conformance.local``) so that a pytest session, a
developer's shell and ``--cluster=existing`` all reach it the same way: through the kubeconfig
and ``target.json`` it writes into its state directory once it is serving. It stops its model
servers on SIGTERM/SIGINT, and by itself when the process that started it goes away, so nothing
outlives a killed test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
import yaml
from aiohttp import web

from kserve_conformance.local import faults as fault_catalog
from kserve_conformance.local.apiserver import ApiServer
from kserve_conformance.local.autoscaler import duration_s
from kserve_conformance.local.gateway import Gateway, Route
from kserve_conformance.local.h2c import Sniffer
from kserve_conformance.local.reconciler import Reconciler
from kserve_conformance.local.resources import (
    BY_KIND,
    INFERENCESERVICES,
    RESOURCES,
    crd_object,
    isvc_validator,
    load_printer_columns,
    load_schema,
)
from kserve_conformance.local.standins import build_standins
from kserve_conformance.local.storage import StorageMap
from kserve_conformance.local.store import Store
from kserve_conformance.urls import KNATIVE, KNATIVE_DEFAULT_TEMPLATE, KSERVE_DEFAULT_TEMPLATE, IngressConfig

log = logging.getLogger("kserve_conformance.local")
SEED = Path(__file__).parent / "data" / "seed.yaml"
EXPOSURES = ("LoadBalancer", "NodePort", "GatewayAPI", "ClusterIP")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kserve_conformance.local", description=__doc__)
    p.add_argument("--state-dir", type=Path, required=True, help="kubeconfig, target.json, models, logs")
    p.add_argument("--deployment-mode", default=KNATIVE, help="cluster default: Knative or Standard")
    p.add_argument("--ingress-domain", default="example.com")
    p.add_argument("--domain-template", default=KSERVE_DEFAULT_TEMPLATE, help="Standard mode host template")
    p.add_argument("--path-template", default="", help="path-based routing, e.g. /serving/{{ .Namespace }}/{{ .Name }}")
    p.add_argument("--url-scheme", default="http")
    p.add_argument("--knative-domain", default="example.com", help="Knative config-domain default domain")
    p.add_argument("--storage-uri-map", action="append", default=[], metavar="FROM=TO")
    p.add_argument("--crd", type=Path, help="InferenceService CRD to validate against (default: built-in subset)")
    p.add_argument("--ingress-exposure", default="LoadBalancer", choices=EXPOSURES,
                   help="how the gateway is published: as a real cluster's ingress would be found")
    p.add_argument("--fault", action="append", default=[], help="inject a defect (self-tests only)")
    p.add_argument("--hpa-downscale-stabilization", default="15s", metavar="DURATION",
                   help="as kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization "
                        "(5m there by default; short here so that a scale-down is seen in seconds)")
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    return p.parse_args(argv)


def ingress_config(args: argparse.Namespace) -> IngressConfig:
    return IngressConfig(default_mode=args.deployment_mode, ingress_domain=args.ingress_domain,
                         domain_template=args.domain_template, url_scheme=args.url_scheme,
                         path_template=args.path_template, knative_domain=args.knative_domain,
                         knative_template=KNATIVE_DEFAULT_TEMPLATE)


def cluster_config_objects(config: IngressConfig, gateway_port: int, exposure: str = "LoadBalancer") -> list[dict]:
    """The ConfigMaps and the ingress objects a KServe install has, describing this target.

    ``exposure`` publishes the gateway the way the ingress discovery's methods expect to find it
    on real clusters: a load balancer's address, a NodePort on a node, a Gateway API gateway's
    address, or only a ClusterIP Service (which leaves a port-forward).
    """
    ingress = {"ingressDomain": config.ingress_domain, "domainTemplate": config.domain_template,
               "urlScheme": config.url_scheme, "ingressGateway": "knative-serving/knative-ingress-gateway",
               "kserveIngressGateway": "kserve/kserve-ingress-gateway",
               "enableGatewayApi": exposure == "GatewayAPI"}
    if config.path_template:
        ingress["pathTemplate"] = config.path_template
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
         "data": {"deploy": json.dumps({"defaultDeploymentMode": config.default_mode}),
                  "ingress": json.dumps(ingress, indent=2)}},
    ]
    port: dict = {"name": "http2", "port": gateway_port, "protocol": "TCP", "targetPort": gateway_port}
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    service: dict = {"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": labels},
                     "spec": {"type": "ClusterIP" if exposure == "ClusterIP" else exposure, "ports": [port],
                              "selector": labels}}
    # The gateway's pod, so `kubectl port-forward svc/istio-ingressgateway` finds one to forward to.
    objects.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "istio-ingressgateway-local", "namespace": "istio-system", "labels": labels},
                    "spec": {"containers": [{"name": "istio-proxy", "image": "kserve-conformance/local-gateway",
                                             "ports": [{"name": "http2", "containerPort": gateway_port}]}]},
                    "status": {"phase": "Running", "podIP": "127.0.0.1", "conditions": [
                        {"type": "Ready", "status": "True"}], "containerStatuses": [
                        {"name": "istio-proxy", "ready": True, "restartCount": 0, "started": True,
                         "image": "kserve-conformance/local-gateway", "imageID": "",
                         "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
    if exposure == "LoadBalancer":
        service["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    if exposure == "NodePort":
        port["nodePort"] = gateway_port
        objects.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "local-control-plane"},
                        "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
    if exposure == "GatewayAPI":
        service["spec"]["type"] = "ClusterIP"
        objects.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                        "metadata": {"name": "kserve-ingress-gateway", "namespace": "kserve"},
                        "spec": {"gatewayClassName": "local",
                                 "listeners": [{"name": "http", "protocol": "HTTP", "port": gateway_port}]},
                        "status": {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]}})
    objects.append(service)
    if config.default_mode == KNATIVE:
        objects += [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-domain",
                                                                 "namespace": "knative-serving"},
             "data": {config.knative_domain: ""}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-network",
                                                                 "namespace": "knative-serving"},
             "data": {"domain-template": config.knative_template}},
            # Knative's defaults, but the shortest grace period it accepts (6 s, not 30 s): scale to
            # zero is seen within a check's minute. The autoscaler reads this object on every tick.
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config-autoscaler",
                                                                 "namespace": "knative-serving"},
             "data": {"stable-window": "60s", "scale-to-zero-grace-period": "6s",
                      "container-concurrency-target-percentage": "70", "enable-scale-to-zero": "true"}},
        ]
    return objects


def kubeconfig(api_url: str) -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": "kserve-conformance-local",
            "clusters": [{"name": "local", "cluster": {"server": api_url}}],
            "users": [{"name": "local", "user": {"token": "local"}}],
            "contexts": [{"name": "kserve-conformance-local",
                          "context": {"cluster": "local", "user": "local", "namespace": "default"}}]}


class LocalTarget:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state_dir: Path = args.state_dir.resolve()
        self.faults = fault_catalog.parse(args.fault)
        self.config = ingress_config(args)
        self.store = Store(RESOURCES)
        schema = load_schema(args.crd)
        self.store.validators[INFERENCESERVICES.key] = isvc_validator(schema)
        if "forbid-create" in self.faults:
            self.store.forbidden_create.add(INFERENCESERVICES.key)
        if "prune-spec" in self.faults:
            self.store.mutators[INFERENCESERVICES.key] = fault_catalog.prune_spec
        self.schema = schema
        self.printer_columns = load_printer_columns(args.crd)
        # Sample models from KServe's buckets, served offline from stand-ins built here.
        storage = StorageMap.parse(args.storage_uri_map).with_defaults(build_standins(self.state_dir / "models"))
        self.reconciler = Reconciler(self.store, self.config, storage, self.state_dir,
                                     self.faults, self._rebuild_routes,
                                     hpa_downscale_stabilization_s=duration_s(args.hpa_downscale_stabilization))
        gateway_faults = {k: v for k, v in self.faults.items() if k in fault_catalog.GATEWAY}
        self.gateway = Gateway(fault_catalog.GatewayFaults(gateway_faults))

    def _rebuild_routes(self) -> None:
        routes: dict[str, list[Route]] = {}
        for service in self.reconciler.services.values():
            targets = tuple(service.routed())
            if not targets or service.latest_ready is None:
                continue
            serving = service.latest_ready
            route = Route(targets, serving.path_prefix, serving.launch.h2c)
            for host in serving.hosts:
                routes.setdefault(host, []).append(route)
        for entries in routes.values():
            entries.sort(key=lambda r: -len(r.path_prefix))  # longest prefix first
        self.gateway.set_routes(routes)

    async def _seed(self, gateway_port: int) -> None:
        for ns in ("default", "kube-system", "kserve", "istio-system", "knative-serving"):
            await self.store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": ns}})
        objects = cluster_config_objects(self.config, gateway_port, self.args.ingress_exposure)
        objects += yaml.safe_load_all(SEED.read_text())
        if "no-kserve" not in self.faults:
            objects.append(crd_object(INFERENCESERVICES, self.schema, self.printer_columns))
        for obj in objects:
            resource = BY_KIND[(obj["apiVersion"], obj["kind"])]
            status = obj.get("status")
            created = await self.store.create(resource, obj["metadata"].get("namespace", ""), obj)
            if status and resource.status_subresource:
                created["status"] = status
                await self.store.replace(resource, created["metadata"].get("namespace", ""),
                                         created["metadata"]["name"], created, "status")

    async def serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Open watches would otherwise hold a graceful shutdown for aiohttp's default minute.
        api = web.AppRunner(ApiServer(self.store, self.reconciler.pod_log).app(), access_log=None,
                            shutdown_timeout=1.0)
        gw = web.AppRunner(self.gateway.app(), access_log=None, shutdown_timeout=1.0)
        await api.setup()
        await gw.setup()
        api_site = web.TCPSite(api, "127.0.0.1", 0)
        await api_site.start()
        api_port = api_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        # The gateway's socket sniffs each connection: h2c (gRPC) is spliced to a predictor, HTTP/1.1
        # goes to aiohttp's own protocol, as a TCPSite would have handed it.
        assert gw.server is not None
        gw_server = await loop.create_server(lambda: Sniffer(gw.server, self.gateway.grpc_port),  # type: ignore[arg-type]
                                             "127.0.0.1", 0)
        gw_port = gw_server.sockets[0].getsockname()[1]
        await self._seed(gw_port)
        reconciler = loop.create_task(self.reconciler.run())
        watchdog = loop.create_task(self._watch_parent(stop))
        api_url = f"http://127.0.0.1:{api_port}"
        (self.state_dir / "kubeconfig").write_text(yaml.safe_dump(kubeconfig(api_url)))
        info = {"api": api_url, "gateway": f"127.0.0.1:{gw_port}", "pid": os.getpid()}
        tmp = self.state_dir / "target.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(self.state_dir / "target.json")  # atomically: readers never see half a file
        log.info("local target serving: API %s, gateway %s", api_url, info["gateway"])
        try:
            await stop.wait()
        finally:
            reconciler.cancel()
            watchdog.cancel()
            await self.reconciler.shutdown()
            gw_server.close()
            await gw.cleanup()
            await api.cleanup()
            (self.state_dir / "target.json").unlink(missing_ok=True)

    async def _watch_parent(self, stop: asyncio.Event) -> None:
        parent = self.args.parent_pid
        while parent:
            await asyncio.sleep(1.0)
            if not psutil.pid_exists(parent):
                log.warning("parent process %s is gone; shutting down", parent)
                stop.set()
                return


def last_resort_watchdog(parent: int, grace_s: float = 15.0) -> None:
    """A thread that ends the target even if its event loop is stuck: orphans are never left."""

    def watch() -> None:
        while psutil.pid_exists(parent):
            time.sleep(1.0)
        time.sleep(grace_s)  # the event loop's own shutdown normally finishes first
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        os._exit(3)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    args = parse_args(argv)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    if args.parent_pid:
        last_resort_watchdog(args.parent_pid)
    try:
        target = LocalTarget(args)
    except (fault_catalog.FaultError, ValueError, OSError) as err:
        print(f"local target: {err}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(target.serve())  # not uvloop: its transports do not take the h2c sniffer's protocol switch
    return 0
