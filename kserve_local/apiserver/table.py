"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns
the server returns; an API server that ignores it leaves kubectl with NAME and AGE only. Custom
resources get their CRD's ``additionalPrinterColumns`` (so ``kubectl get isvc`` shows URL, READY,
..., AGE as on KServe), built-in kinds the columns in ``data/printer-columns.yaml``.
JSONPath is evaluated by ``jsonpath-rfc9535``: Kubernetes' column paths (``.status.url``,
``[?(@.type=='Ready')]``) are RFC 9535 queries once rooted at ``$``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonpath_rfc9535 as jsonpath
import yaml

from kserve_local.apiserver.store import Obj, Resource

BUILTIN_COLUMNS = Path(__file__).parent / "data" / "printer-columns.yaml"
NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
}
DEFAULT_COLUMNS = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def wants_table(accept: str) -> str | None:
    """The Table version (``v1`` or ``v1beta1``) an Accept header asks for first, or None."""
    for media in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in media.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return params["v"]
    return None


@functools.cache
def builtin_columns() -> dict[str, list[dict[str, Any]]]:
    columns: dict[str, list[dict[str, Any]]] = yaml.safe_load(BUILTIN_COLUMNS.read_text())
    return columns


def columns_for(resource: Resource, crd: Obj | None) -> list[dict[str, Any]]:
    """Printer columns: the CRD's for custom resources, the built-in list otherwise, else Age."""
    if crd is not None:
        for version in crd.get("spec", {}).get("versions", []):
            if version.get("name") == resource.version:
                return version.get("additionalPrinterColumns") or DEFAULT_COLUMNS
    return builtin_columns().get(resource.key, DEFAULT_COLUMNS)


def human_age(stamp: str, now: datetime.datetime | None = None) -> str:
    """An age as kubectl prints it (apimachinery's HumanDuration): 45s, 5m30s, 3h, 2d4h, ..."""
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = int(((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds())
    if seconds < -1:
        return "<invalid>"
    seconds = max(seconds, 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def _pod_ready(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    total = len(pod.get("spec", {}).get("containers", [])) or len(statuses)
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _service_external_ip(svc: Obj) -> str:
    ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])
    addresses = [i.get("ip") or i.get("hostname") for i in ingress] + svc.get("spec", {}).get("externalIPs", [])
    if addresses:
        return ",".join(a for a in addresses if a)
    return "<pending>" if svc.get("spec", {}).get("type") == "LoadBalancer" else "<none>"


def _service_ports(svc: Obj) -> str:
    ports = [
        f"{p['port']}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort")
        else f"{p['port']}/{p.get('protocol', 'TCP')}"
        for p in svc.get("spec", {}).get("ports", [])
    ]
    return ",".join(ports) or "<none>"


def _endpoints(ep: Obj) -> str:
    """As kubectl's ENDPOINTS column: ``ip:port`` for each ready address and port, three at most."""
    pairs = [
        f"{a['ip']}:{p['port']}" if p.get("port") else a["ip"]
        for subset in ep.get("subsets") or []
        for p in subset.get("ports") or [{}]
        for a in subset.get("addresses") or []
    ]
    more = f" + {len(pairs) - 3} more..." if len(pairs) > 3 else ""
    return ",".join(pairs[:3]) + more if pairs else "<none>"


def _event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    return f"{involved.get('kind', '').lower()}/{involved.get('name', '')}"


def _node_status(node: Obj) -> str:
    ready = [c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
    return "Ready" if ready and ready[0].get("status") == "True" else "Unknown" if not ready else "NotReady"


COMPUTED: dict[str, Callable[[Obj], Any]] = {
    "pod-ready": _pod_ready,
    "pod-restarts": lambda pod: str(
        sum(s.get("restartCount", 0) for s in pod.get("status", {}).get("containerStatuses", []))
    ),
    "service-external-ip": _service_external_ip,
    "service-ports": _service_ports,
    "endpoints": _endpoints,
    "service-selector": lambda svc: (
        ",".join(f"{k}={v}" for k, v in svc.get("spec", {}).get("selector", {}).items()) or "<none>"
    ),
    "configmap-data": lambda cm: len(cm.get("data", {})) + len(cm.get("binaryData", {})),
    "event-last-seen": lambda ev: human_age(
        ev.get("lastTimestamp")
        or ev.get("deprecatedLastTimestamp")
        or ev.get("eventTime")
        or ev.get("metadata", {}).get("creationTimestamp", "")
    ),
    "event-object": _event_object,
    "node-status": _node_status,
    "deployment-ready": lambda d: (
        f"{d.get('status', {}).get('readyReplicas', 0)}/{d.get('spec', {}).get('replicas', 1)}"
    ),
}


@functools.cache
def _query(path: str) -> Any:
    return jsonpath.compile("$" + path if path.startswith((".", "[")) else path)


def cell(column: dict[str, Any], obj: Obj) -> Any:
    if "value" in column:
        return COMPUTED[column["value"]](obj)
    values = _query(column["jsonPath"]).find(obj).values()
    if not values or values[0] is None:
        return "<none>" if column.get("type") != "date" else "<unknown>"
    value = values[0]
    if column.get("type") == "date" and column.get("format") != "date-time":
        return human_age(str(value))
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return value


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(
    resource: Resource,
    crd: Obj | None,
    objects: list[Obj],
    resource_version: str,
    version: str = "v1",
    include_object: str = "Metadata",
    headers: bool = True,
) -> Obj:
    """A Table of ``objects`` with one row each; ``includeObject`` as the API server honours it."""
    columns = columns_for(resource, crd)
    if not any(c.get("format") == "name" for c in columns):  # Name leads unless placed (events: -o wide only)
        columns = [{**NAME_COLUMN, "jsonPath": ".metadata.name"}, *columns]
    definitions = [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = []
    for obj in objects:
        row: Obj = {"cells": [cell(c, obj) for c in columns]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = _partial(obj)
        rows.append(row)
    out: Obj = {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": {"resourceVersion": resource_version},
        "rows": rows,
    }
    if headers:
        out["columnDefinitions"] = definitions
    return out
