"""The server's own time to first token beside the client's: what the path between them adds.

vLLM measures TTFT from when its frontend received the request (``vllm:time_to_first_token_seconds``,
a histogram); the load generator measures it from the intended send time, through the ingress
and the gateway. A histogram cannot give a percentile, only the bucket it falls in, so the
server's side is a range (lower, upper bound) of the observations made during the run (two
scrapes, before and after); the client's figure above its range's upper bound is time the path
(the gateway, the network, the client's own scheduling) added for certain, one inside it may be
path time or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kserve_conformance.dataplane.metrics import Snapshot, growth, quantile_range
from kserve_conformance.load.llm.results import LLMResult

PERCENTILES = (50, 90, 99)


def beside(
    before: Snapshot, after: Snapshot, histogram: str, match: Mapping[str, str], result: LLMResult
) -> dict[str, Any]:
    """Per percentile: the client's TTFT (ms) and the server's bucket range (ms) over the run."""
    observed = growth(before, after, f"{histogram}_count", match)
    rows = []
    for p in PERCENTILES:
        bucket = quantile_range(before, after, histogram, match, p / 100)
        server = None if bucket is None else [bucket[0] * 1000, None if math.isinf(bucket[1]) else bucket[1] * 1000]
        client = result.ms("ttft", p)
        added = None if server is None or server[1] is None else max(0.0, client - server[1])
        rows.append({"percentile": p, "client_ms": client, "server_ms": server, "path_adds_at_least_ms": added})
    return {
        "histogram": histogram,
        "labels": dict(match),
        "server_observed": observed,
        "client_streams": result.sent,
        "percentiles": rows,
    }


def line(doc: dict[str, Any]) -> str:
    """One line for the progress output: client p50/p99 against the server's ranges."""
    parts = []
    for row in doc["percentiles"]:
        server = row["server_ms"]
        where = "no observations" if server is None else f"server ({server[0]:g}, {_ms(server[1])}] ms"
        parts.append(f"p{row['percentile']} client {row['client_ms']:.1f} ms, {where}")
    counted = f"{doc['server_observed'] or 0:g} observed by the server, {doc['client_streams']} sent"
    return f"TTFT {'; '.join(parts)} ({counted})"


def _ms(value: float | None) -> str:
    return "inf" if value is None else f"{value:g}"
