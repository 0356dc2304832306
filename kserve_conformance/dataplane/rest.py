"""Data-plane requests through the ingress, the way the tutorial's curl sends them.

Only transport errors are retried (as Knative's "spoofing" client does): an HTTP answer, even a
5xx, is the target's verdict and goes to the check. Right after Ready a service may still 404
for a moment (kserve/kserve#604), so request checks first wait for N consecutive successes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout)


@dataclass(frozen=True)
class Exchange:
    """One request and its response, kept whole for the report."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.response_body)

    def describe(self) -> str:
        host = self.headers.get("Host", "")
        text = self.response_body[:300].decode(errors="replace")
        return f"{self.method} {self.url} (Host: {host}) → {self.status} {text}"


@dataclass
class DataPlane:
    base_url: str
    host: str | None
    path_prefix: str = ""
    timeout_s: float = 30.0
    transport_retries: int = 3
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request (a routing header)

    def __post_init__(self) -> None:
        self.session = requests.Session()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Exchange:
        url = f"{self.base_url}{self.path_prefix}{path}"
        sent = {**self.headers, **(headers or {})}
        if self.host:
            sent["Host"] = self.host
        for attempt in range(self.transport_retries + 1):
            start = time.perf_counter()
            try:
                r = self.session.request(method, url, data=body, headers=sent, timeout=self.timeout_s)
            except TRANSPORT_ERRORS:
                if attempt == self.transport_retries:
                    raise
                time.sleep(0.2 * (attempt + 1))
                continue
            return Exchange(
                method, url, sent, body or b"", r.status_code, dict(r.headers), r.content, time.perf_counter() - start
            )
        raise AssertionError("unreachable")

    def get(self, path: str) -> Exchange:
        return self.request("GET", path)

    def post_json(self, path: str, doc: Any, content_type: str | None = "application/json") -> Exchange:
        headers = {"Content-Type": content_type} if content_type else {}
        return self.request("POST", path, json.dumps(doc).encode(), headers)


def consecutive_successes(
    attempt: Callable[[], Exchange],
    required: int,
    timeout_s: float,
    ok: Callable[[Exchange], bool] = lambda e: 200 <= e.status < 300,
) -> list[Exchange]:
    """Repeat until ``required`` successes in a row; on timeout raise with the last answers seen."""
    deadline = time.monotonic() + timeout_s
    streak: list[Exchange] = []
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            exchange = attempt()
        except TRANSPORT_ERRORS as err:
            streak, seen = [], [*seen[-4:], f"transport error: {err.__class__.__name__}"]
            time.sleep(0.2)
            continue
        if ok(exchange):
            streak.append(exchange)
            if len(streak) >= required:
                return streak
        else:
            streak, seen = [], [*seen[-4:], exchange.describe()]
            time.sleep(0.2)
    raise AssertionError(
        f"no {required} consecutive successful requests within {timeout_s:.0f}s; "
        f"last failures: {' | '.join(seen) or 'none'}"
    )
