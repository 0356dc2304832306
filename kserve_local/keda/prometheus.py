"""KEDA's Prometheus scaler: one instant query over Prometheus' HTTP API, one number back.

As KEDA's ``prometheus`` trigger does: ``GET {serverAddress}/api/v1/query?query=...&time=...``
(plus ``namespace`` when the trigger names one); an empty result counts as 0 (its
``ignoreNullValues`` default), more than one element is an error, NaN and infinities count as 0.
The trigger is *active* when the value is above ``activationThreshold`` (default 0).

``serverAddress`` is an in-cluster URL (``http://prometheus.monitoring.svc:9090``): KEDA's pod
reaches it through cluster DNS and the Service's endpoints. The local target has neither, so a host
of the form ``<service>.<namespace>[.svc[.cluster.local]]`` is resolved here through the stored
Service (the port named by the URL) and its Endpoints (the address and port behind it); any other
host is used as it is.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from kserve_local.apiserver.store import Store
from kserve_local.timeouts import KEDA_QUERY_S

SERVICE_HOST = re.compile(r"^(?P<svc>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)(\.svc(\.cluster\.local)?)?$")


class QueryError(Exception):
    """The trigger's query failed; the message is what KEDA's event says."""


def resolve(store: Store, url: str) -> str:
    """``url`` with an in-cluster service host replaced by the address of one of its endpoints."""
    parts = urlsplit(url)
    match = SERVICE_HOST.match(parts.hostname or "")
    if match is None:
        return url
    services = _resource(store, "services")
    endpoints = _resource(store, "endpoints")
    service = store.find(services, match["ns"], match["svc"]) if services else None
    if service is None:
        raise QueryError(f"dial tcp: lookup {parts.hostname}: no such host (no Service {match['ns']}/{match['svc']})")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    spec_port = next((p for p in service.get("spec", {}).get("ports", []) if p.get("port") == port), None)
    if spec_port is None:
        raise QueryError(f"Service {match['ns']}/{match['svc']} has no port {port}")
    found = store.find(endpoints, match["ns"], match["svc"]) if endpoints else None
    for subset in (found or {}).get("subsets", []):
        addresses = subset.get("addresses") or []
        wanted = spec_port.get("name")
        target = next(
            (p for p in subset.get("ports", []) if (wanted and p.get("name") == wanted) or len(subset["ports"]) == 1),
            None,
        )
        if addresses and target is not None:
            netloc = f"{addresses[0]['ip']}:{target['port']}"
            return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    raise QueryError(f"Service {match['ns']}/{match['svc']} has no ready endpoints")


def _resource(store: Store, plural: str) -> Any:
    return next((r for r in store.resources if r.plural == plural and r.group == ""), None)


async def query(session: aiohttp.ClientSession, store: Store, metadata: dict[str, str]) -> float:
    """The trigger's value now, as KEDA's Prometheus scaler reads it."""
    base = resolve(store, metadata.get("serverAddress", "")).rstrip("/")
    params = {"query": metadata.get("query", ""), "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if metadata.get("namespace"):
        params["namespace"] = metadata["namespace"]
    try:
        async with session.get(
            f"{base}/api/v1/query", params=params, timeout=aiohttp.ClientTimeout(total=KEDA_QUERY_S)
        ) as response:
            body = await response.read()
            if not 200 <= response.status < 300:
                raise QueryError(f"prometheus query api returned error. status: {response.status}")
    except (aiohttp.ClientError, TimeoutError) as err:
        raise QueryError(f"error executing prometheus query: {type(err).__name__}: {err}") from err
    return value_of(body, metadata)


def value_of(body: bytes, metadata: dict[str, str]) -> float:
    """The single number of an instant-query answer (KEDA's rules for empty and many results)."""
    try:
        data = json.loads(body).get("data", {})
        result = data.get("result", [])
    except (ValueError, AttributeError) as err:
        raise QueryError(f"prometheus answer is not JSON: {err}") from err
    if data.get("resultType") == "scalar":
        result = [{"value": result}]
    ignore_null = metadata.get("ignoreNullValues", "true").lower() in ("true", "t", "1")
    if isinstance(result, list) and not result:
        if ignore_null:
            return 0.0
        raise QueryError("prometheus metrics 'prometheus' target may be lost, the result is empty")
    if isinstance(result, list) and len(result) > 1:
        raise QueryError(f"prometheus query {metadata.get('query', '')} returned multiple elements")
    pair = result[0].get("value") if isinstance(result, list) and isinstance(result[0], dict) else None
    if not pair or len(pair) < 2:
        raise QueryError(f"prometheus query {metadata.get('query', '')} didn't return enough values")
    value = float(pair[1])
    return 0.0 if (math.isnan(value) or math.isinf(value)) and ignore_null else value


def activation(metadata: dict[str, str]) -> float:
    return float(metadata.get("activationThreshold") or 0)
