"""The local target process: API server, controllers, kubelet and gateway on loopback, in one event loop.

It runs as its own process (``python -m kserve_local``) so that a pytest session, a
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
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml
from aiohttp import web

from kserve_local import faults as fault_catalog
from kserve_local import serviceaccounts
from kserve_local.apiserver.resources import (
    BY_KIND,
    CONVERTED,
    INFERENCESERVICES,
    LLMINFERENCESERVICECONFIGS,
    LLMINFERENCESERVICES,
    RESOURCES,
    crd_object,
    isvc_validator,
    load_printer_columns,
    load_schema,
)
from kserve_local.apiserver.server import ApiServer
from kserve_local.apiserver.store import Obj, Store
from kserve_local.faults import Fault, FaultError, Faults
from kserve_local.ingress.faults import GatewayFaults
from kserve_local.ingress.gateway import Gateway, Route
from kserve_local.ingress.h2c import Sniffer
from kserve_local.ingress.httproutes import HttpRoutes
from kserve_local.keda import CRD as KEDA_CRD
from kserve_local.knative import domains
from kserve_local.knative.autoscaler import duration_s
from kserve_local.kserve import install as kserve_install
from kserve_local.kserve.config import DEFAULT_DOMAIN_TEMPLATE, DEFAULT_INGRESS_DOMAIN, Mode
from kserve_local.kserve.controller import Controller
from kserve_local.kserve.runtimes import SEED
from kserve_local.kserve.storage import StorageMap
from kserve_local.llmisvc import conversion
from kserve_local.llmisvc import group as llmisvc_group
from kserve_local.llmisvc import install as llmisvc_install
from kserve_local.llmisvc.controller import LlmController
from kserve_local.models.standins import build_standins
from kserve_local.monitoring.prometheus import Monitoring, find_binary
from kserve_local.timeouts import PARENT_GONE_GRACE_S, PARENT_POLL_S

log = logging.getLogger("kserve_local")
EXPOSURES = ("LoadBalancer", "NodePort", "GatewayAPI", "ClusterIP")
PROG = "kserve_local"  # how start-up errors are signed: one line, the last of the log


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m kserve_local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--state-dir", type=Path, help="kubeconfig, target.json, models, logs (required to run)")
    p.add_argument("--deployment-mode", default=Mode.KNATIVE.value, help="cluster default: Knative or Standard")
    p.add_argument("--ingress-domain", default=DEFAULT_INGRESS_DOMAIN)
    p.add_argument("--domain-template", default=DEFAULT_DOMAIN_TEMPLATE, help="Standard mode host template")
    p.add_argument("--path-template", default="", help="path-based routing, e.g. /serving/{{ .Namespace }}/{{ .Name }}")
    p.add_argument("--url-scheme", default="http")
    p.add_argument("--knative-domain", default="example.com", help="Knative config-domain default domain")
    p.add_argument("--storage-uri-map", action="append", default=[], metavar="FROM=TO")
    p.add_argument("--crd", type=Path, help="InferenceService CRD to validate against (default: built-in subset)")
    p.add_argument(
        "--ingress-exposure",
        default="LoadBalancer",
        choices=EXPOSURES,
        help="how the gateway is published: as a real cluster's ingress would be found",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="inject a defect (self-tests only; --list-faults names them)",
    )
    p.add_argument("--list-faults", action="store_true", help="list the faults --fault takes, and exit")
    p.add_argument(
        "--hpa-downscale-stabilization",
        default="15s",
        metavar="DURATION",
        help="as kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization "
        "(5m there by default; short here so that a scale-down is seen in seconds)",
    )
    p.add_argument(
        "--prometheus",
        metavar="BIN",
        help="the Prometheus binary to run as the cluster's monitoring (default: prometheus on PATH; "
        "none: run without monitoring)",
    )
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument(
        "--state-dir-is-temporary",
        action="store_true",
        help="the parent made --state-dir for this target and removes it at stop; if the parent dies "
        "instead, the target removes it as it exits",
    )
    args = p.parse_args(argv)
    if args.state_dir is None and not args.list_faults:
        p.error("--state-dir is required")
    return args


@dataclass(frozen=True)
class Install:
    """How this cluster's KServe and Knative are configured: what its ConfigMaps will say."""

    default_mode: Mode = Mode.KNATIVE
    ingress_domain: str = DEFAULT_INGRESS_DOMAIN
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    url_scheme: str = "http"
    path_template: str = ""
    knative_domain: str = "example.com"
    knative_template: str = domains.DEFAULT_TEMPLATE

    @classmethod
    def of(cls, args: argparse.Namespace) -> Install:
        return cls(
            default_mode=Mode.parse(args.deployment_mode),
            ingress_domain=args.ingress_domain,
            domain_template=args.domain_template,
            url_scheme=args.url_scheme,
            path_template=args.path_template,
            knative_domain=args.knative_domain,
        )


def cluster_config_objects(config: Install, gateway_port: int, exposure: str = "LoadBalancer") -> list[Obj]:
    """The ConfigMaps and the ingress objects a KServe install has, describing this target.

    The controller reads the URL settings back from these objects, as KServe's does, not from the
    command line: ``kubectl edit`` of ``inferenceservice-config`` takes effect on the next reconcile.

    ``exposure`` publishes the gateway the way the ingress discovery's methods expect to find it
    on real clusters: a load balancer's address, a NodePort on a node, a Gateway API gateway's
    address, or only a ClusterIP Service (which leaves a port-forward).
    """
    ingress: Obj = {
        "ingressDomain": config.ingress_domain,
        "domainTemplate": config.domain_template,
        "urlScheme": config.url_scheme,
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "kserveIngressGateway": "kserve/kserve-ingress-gateway",
        "enableGatewayApi": exposure == "GatewayAPI",
    }
    if config.path_template:
        ingress["pathTemplate"] = config.path_template
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
            "data": {
                "deploy": json.dumps({"defaultDeploymentMode": config.default_mode.value}),
                # KServe's install says "false" for both. This cluster runs a Prometheus, so, as a
                # platform with monitoring would, it turns scraping on for every InferenceService
                # (KServe: "The default values for serving.kserve.io/enable-prometheus-scraping can
                # be set in the inferenceservice-config configmap"); the manifests stay as written.
                "metricsAggregator": json.dumps(
                    {"enableMetricAggregation": "false", "enablePrometheusScraping": "true"}
                ),
                "security": json.dumps({"autoMountServiceAccountToken": True}),  # as KServe's install ships it
                "ingress": json.dumps(ingress, indent=2),
            },
        },
    ]
    port: Obj = {"name": "http2", "port": gateway_port, "protocol": "TCP", "targetPort": gateway_port}
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": labels},
        "spec": {"type": "ClusterIP" if exposure == "ClusterIP" else exposure, "ports": [port], "selector": labels},
    }
    # The gateway's pod, so `kubectl port-forward svc/istio-ingressgateway` finds one to forward to.
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "istio-ingressgateway-local", "namespace": "istio-system", "labels": labels},
            "spec": {
                "containers": [
                    {
                        "name": "istio-proxy",
                        "image": "kserve-conformance/local-gateway",
                        "ports": [{"name": "http2", "containerPort": gateway_port}],
                    }
                ]
            },
            "status": {
                "phase": "Running",
                "podIP": "127.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {
                        "name": "istio-proxy",
                        "ready": True,
                        "restartCount": 0,
                        "started": True,
                        "image": "kserve-conformance/local-gateway",
                        "imageID": "",
                        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                    }
                ],
            },
        }
    )
    if exposure == "LoadBalancer":
        service["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    if exposure == "NodePort":
        port["nodePort"] = gateway_port
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "local-control-plane"},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]},
            }
        )
    if exposure == "GatewayAPI":
        service["spec"]["type"] = "ClusterIP"
        objects.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "kserve-ingress-gateway", "namespace": "kserve"},
                "spec": {
                    "gatewayClassName": "local",
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": gateway_port}],
                },
                "status": {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]},
            }
        )
    objects.append(service)
    if config.default_mode is Mode.KNATIVE:
        objects += [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "config-domain", "namespace": "knative-serving"},
                "data": {config.knative_domain: ""},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "config-network", "namespace": "knative-serving"},
                "data": {"domain-template": config.knative_template},
            },
            # Knative's defaults, but the shortest grace period it accepts (6 s, not 30 s): scale to
            # zero is seen within a check's minute. The autoscaler reads this object on every tick.
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
                "data": {
                    "stable-window": "60s",
                    "scale-to-zero-grace-period": "6s",
                    "container-concurrency-target-percentage": "70",
                    "enable-scale-to-zero": "true",
                },
            },
        ]
    return objects


def kubeconfig(api_url: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kserve-conformance-local",
        "clusters": [{"name": "local", "cluster": {"server": api_url}}],
        "users": [{"name": "local", "user": {"token": "local"}}],
        "contexts": [
            {
                "name": "kserve-conformance-local",
                "context": {"cluster": "local", "user": "local", "namespace": "default"},
            }
        ],
    }


def prune_spec(obj: Obj) -> None:
    """The ``prune-spec`` fault, applied where a real API server prunes: on admission."""
    obj.get("spec", {}).get("predictor", {}).get("model", {}).pop("storageUri", None)


class LocalTarget:
    def __init__(self, args: argparse.Namespace, faults: Faults) -> None:
        self.args = args
        self.orphaned = False  # the parent died: set by the watch, read by main() after shutdown
        self.state_dir: Path = args.state_dir.resolve()
        self.faults = faults
        self.config = Install.of(args)
        self.store = Store(RESOURCES)
        schema = load_schema(args.crd)
        self.store.validators[INFERENCESERVICES.key] = isvc_validator(schema)
        if Fault.FORBID_CREATE in self.faults:
            self.store.forbidden_create.add(INFERENCESERVICES.key)
        if Fault.NO_KSERVE not in self.faults:  # KServe's webhooks; prune-spec prunes after them
            kserve_install.register(self.store, self.faults, prune_spec if Fault.PRUNE_SPEC in self.faults else None)
        elif Fault.PRUNE_SPEC in self.faults:
            self.store.mutators[INFERENCESERVICES.key] = prune_spec
        self.schema = schema
        self.printer_columns = load_printer_columns(args.crd)
        # Sample models from KServe's buckets, served offline from stand-ins built here.
        storage = StorageMap.parse(args.storage_uri_map).with_defaults(build_standins(self.state_dir / "models"))
        self.controller = Controller(
            self.store,
            storage,
            self.state_dir,
            self.faults,
            self._rebuild_routes,
            hpa_downscale_stabilization_s=duration_s(args.hpa_downscale_stabilization),
        )
        self.llm_controller = LlmController(self.store, self.state_dir, self.faults, self.controller.events)
        self.store.mutators[LLMINFERENCESERVICES.key] = llmisvc_group.label  # KServe's defaulting webhook
        even = Fault.LLMISVC_WEIGHTS_IGNORED in self.faults
        headless = Fault.LLMISVC_HEADER_MATCH_IGNORED in self.faults
        routes = HttpRoutes(self.store, even_split=even, ignore_headers=headless)
        self.gateway = Gateway(GatewayFaults.of(self.faults), routes)

    def _rebuild_routes(self) -> None:
        routes: dict[str, list[Route]] = {}
        for service in self.controller.services.values():
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
        if Fault.NO_KSERVE not in self.faults:
            objects.append(crd_object(INFERENCESERVICES, self.schema, self.printer_columns))
            objects += kserve_install.objects(self.faults)
            if Fault.NO_LLMISVC not in self.faults:  # an optional component of KServe
                objects += llmisvc_install.objects(gateway_port, objects)  # LLMInferenceService and its router
        objects.append(yaml.safe_load(KEDA_CRD.read_text()))  # KEDA is installed (kserve_local/keda)
        for obj in objects:
            resource = BY_KIND[(obj["apiVersion"], obj["kind"])]
            status = obj.get("status")
            created = await self.store.create(resource, obj["metadata"].get("namespace", ""), obj)
            if status and resource.status_subresource:
                created["status"] = status
                await self.store.replace(
                    resource, created["metadata"].get("namespace", ""), created["metadata"]["name"], created, "status"
                )

    async def serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Open watches would otherwise hold a graceful shutdown for aiohttp's default minute.
        converted = conversion.webhook(CONVERTED, self.faults)
        # KServe without LLMInferenceService serves neither of its kinds, in any version.
        hidden = (
            {LLMINFERENCESERVICES.plural, LLMINFERENCESERVICECONFIGS.plural}
            if Fault.NO_LLMISVC in self.faults
            else set()
        )
        api = web.AppRunner(
            ApiServer(self.store, self.controller.pod_log, converted, hidden).app(),
            access_log=None,
            shutdown_timeout=1.0,
        )
        gw = web.AppRunner(self.gateway.app(), access_log=None, shutdown_timeout=1.0)
        await api.setup()
        await gw.setup()
        api_site = web.TCPSite(api, "127.0.0.1", 0)
        await api_site.start()
        api_port = api.addresses[0][1]  # the port the OS chose for port 0
        # The gateway's socket sniffs each connection: h2c (gRPC) is spliced to a predictor, HTTP/1.1
        # goes to aiohttp's own protocol, as a TCPSite would have handed it.
        http1 = gw.server
        assert http1 is not None  # set up above
        gw_server = await loop.create_server(lambda: Sniffer(http1, self.gateway.grpc_port), "127.0.0.1", 0)
        gw_port = gw_server.sockets[0].getsockname()[1]
        await self._seed(gw_port)
        controller = loop.create_task(self.controller.run())
        llm_controller = loop.create_task(self.llm_controller.run())
        service_accounts = loop.create_task(serviceaccounts.run(self.store))
        if Fault.NO_KSERVE not in self.faults:
            kserve_install.follow(self.store, controller)  # its pod is Ready while it runs
        watchdog = loop.create_task(self._watch_parent(stop))
        api_url = f"http://127.0.0.1:{api_port}"
        (self.state_dir / "kubeconfig").write_text(yaml.safe_dump(kubeconfig(api_url)))
        info: dict[str, object] = {"api": api_url, "gateway": f"127.0.0.1:{gw_port}", "pid": os.getpid()}
        monitoring = await self._start_monitoring(info)
        tmp = self.state_dir / "target.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(self.state_dir / "target.json")  # atomically: readers never see half a file
        log.info("local target serving: API %s, gateway %s", api_url, info["gateway"])
        try:
            await stop.wait()
        finally:
            controller.cancel()
            llm_controller.cancel()
            service_accounts.cancel()
            watchdog.cancel()
            if monitoring is not None:
                await monitoring.stop()
            await self.controller.shutdown()
            await self.llm_controller.shutdown()
            gw_server.close()
            await gw.cleanup()
            await api.cleanup()
            (self.state_dir / "target.json").unlink(missing_ok=True)

    async def _start_monitoring(self, info: dict[str, object]) -> Monitoring | None:
        """Prometheus, when there is one to run; ``info`` (target.json) says which, or why none."""
        binary, why_not = find_binary(self.args.prometheus)
        if binary is None:
            log.warning("%s: the target runs without monitoring", why_not)
            info["prometheus"] = {"url": None, "why": why_not}
            return None
        monitoring = Monitoring(self.store, self.state_dir, binary)
        info["prometheus"] = await monitoring.start(self.state_dir / "kubeconfig")
        return monitoring

    async def _watch_parent(self, stop: asyncio.Event) -> None:
        parent = self.args.parent_pid
        while parent:
            await asyncio.sleep(PARENT_POLL_S)
            if not psutil.pid_exists(parent):
                log.warning("parent process %s is gone; shutting down", parent)
                self.orphaned = True
                stop.set()
                return


def last_resort_watchdog(parent: int, temporary: Path | None, grace_s: float = PARENT_GONE_GRACE_S) -> None:
    """A thread that ends the target even if its event loop is stuck: orphans are never left."""

    def watch() -> None:
        while psutil.pid_exists(parent):
            time.sleep(PARENT_POLL_S)
        time.sleep(grace_s)  # the event loop's own shutdown normally finishes first
        kill_leftover_children()
        remove_orphaned_state(temporary)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    if args.list_faults:
        print(fault_catalog.listing())
        return 0
    try:
        # Faults first: a misspelt one ends start-up in one line, before anything is built.
        faults = fault_catalog.parse(args.fault)
        args.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = args.state_dir if args.state_dir_is_temporary else None
        if args.parent_pid:
            last_resort_watchdog(args.parent_pid, temporary)
        target = LocalTarget(args, faults)
    except (FaultError, ValueError, OSError) as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(target.serve())  # not uvloop: its transports do not take the h2c sniffer's protocol switch
    kill_leftover_children()
    if target.orphaned:
        remove_orphaned_state(temporary)
    return 0


def kill_leftover_children() -> None:
    """Whatever the shutdown left running (a vLLM engine process outliving its API server) dies with
    the target: once it exits, they would have no parent to stop them."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child.kill()


def remove_orphaned_state(temporary: Path | None) -> None:
    """The parent that made the state dir died before removing it: nothing the suite made is left."""
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)
