"""Kubernetes pod discovery for a Prometheus built without it, served as Prometheus' HTTP SD.

Debian's ``prometheus`` package (the one CI installs) is built without ``kubernetes_sd_configs``:
its NEWS.Debian says "Kubernetes support has been completely removed, due to the insane amount of
dependencies in their client library". So the target runs what ``kubernetes_sd_configs`` with
``role: pod`` does inside Prometheus, as a small HTTP service that Prometheus polls through its
``http_sd_configs``: on every poll it lists the pods from the target's API server, with the
kubeconfig's server and token as any client would, and answers one target per container port
with the meta labels Prometheus' own pod role gives them (``__meta_kubernetes_namespace``,
``__meta_kubernetes_pod_name``, ``..._pod_annotation_<name>``, ``..._pod_container_port_number``,
...; Prometheus' ``discovery/kubernetes/pod.go``). A scrape configuration written for a cluster's
Prometheus, the community's ``prometheus.io/scrape|port|path`` relabelling included, therefore
keeps and labels the same targets here as there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

Obj = dict[str, Any]
META = "__meta_kubernetes_"
NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    """As Prometheus' ``strutil.SanitizeLabelName``: every character not allowed in a label name becomes ``_``."""
    return NOT_LABEL_CHAR.sub("_", name)


def pod_labels(pod: Obj) -> dict[str, str]:
    """The labels every target of a pod carries (Prometheus' ``podLabels``, plus the namespace)."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    ready = next((c.get("status", "") for c in status.get("conditions", []) if c.get("type") == "Ready"), "Unknown")
    labels = {
        f"{META}namespace": meta.get("namespace", ""),
        f"{META}pod_name": meta.get("name", ""),
        f"{META}pod_ip": status.get("podIP", ""),
        f"{META}pod_ready": str(ready).lower(),
        f"{META}pod_phase": status.get("phase", ""),
        f"{META}pod_node_name": spec.get("nodeName", ""),
        f"{META}pod_host_ip": status.get("hostIP", ""),
        f"{META}pod_uid": meta.get("uid", ""),
    }
    controller = next((r for r in meta.get("ownerReferences", []) if r.get("controller")), None)
    if controller is not None:
        labels[f"{META}pod_controller_kind"] = controller.get("kind", "")
        labels[f"{META}pod_controller_name"] = controller.get("name", "")
    for prefix, values in (("label", meta.get("labels", {})), ("annotation", meta.get("annotations", {}))):
        for key, value in values.items():
            labels[f"{META}pod_{prefix}_{sanitize(key)}"] = value
            labels[f"{META}pod_{prefix}present_{sanitize(key)}"] = "true"
    return labels


def target_groups(pod: Obj) -> list[Obj]:
    """A pod's targets as HTTP SD groups: one per container port, or per container without ports.

    HTTP SD shares a group's labels among its targets, so each target (whose container and port
    labels differ) is a group of its own. A pod without an IP yet has no targets, as in Prometheus.
    """
    ip = pod.get("status", {}).get("podIP")
    if not ip:
        return []
    common = pod_labels(pod)
    groups = []
    for container in pod.get("spec", {}).get("containers", []):
        per_container = {**common, f"{META}pod_container_name": container.get("name", "")}
        if container.get("image"):
            per_container[f"{META}pod_container_image"] = container["image"]
        per_container[f"{META}pod_container_init"] = "false"
        ports = container.get("ports") or []
        if not ports:
            groups.append({"targets": [ip], "labels": per_container})
        for port in ports:
            number = str(port.get("containerPort", ""))
            labels = {
                **per_container,
                f"{META}pod_container_port_number": number,
                f"{META}pod_container_port_name": port.get("name", ""),
                f"{META}pod_container_port_protocol": port.get("protocol", "TCP"),
            }
            groups.append({"targets": [f"{ip}:{number}"], "labels": labels})
    return groups


class PodDiscovery:
    """The HTTP SD endpoint: ``GET /pods`` lists the cluster's pods and answers their target groups."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
        cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
        user = next(u for u in config["users"] if u["name"] == context["user"])["user"]
        self.server: str = cluster["server"]
        self.headers = {"Authorization": f"Bearer {user['token']}"} if user.get("token") else {}
        self.headers["User-Agent"] = "kserve-local-pod-discovery"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/pods", self._pods)
        return app

    async def _pods(self, _: web.Request) -> web.Response:
        # Prometheus keeps the targets of its last good poll and logs a failed one.
        try:
            async with (
                aiohttp.ClientSession(headers=self.headers) as session,
                session.get(f"{self.server}/api/v1/pods") as response,
            ):
                if response.status != 200:
                    return web.Response(status=502, text=f"listing pods: HTTP {response.status}")
                pods = await response.json()
        except aiohttp.ClientError as err:  # the API server is stopping with the target
            return web.Response(status=502, text=f"listing pods: {err}")
        groups = [group for pod in pods.get("items", []) for group in target_groups(pod)]
        return web.json_response(groups)
