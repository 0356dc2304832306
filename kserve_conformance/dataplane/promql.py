"""A client of Prometheus' HTTP API (``/api/v1/query``, ``/api/v1/targets``), on any transport.

The same client talks to a URL the user gives (``--kserve-prometheus-url``) and to a cluster's
Prometheus reached through the Kubernetes API server's service proxy (``cluster/monitoring.py``
hands it a base URL and a ``requests.Session`` carrying the cluster's credentials). Answers are
read as the API documents them (``{"status": "success", "data": {"resultType", "result"}}``);
any other answer is a :class:`PrometheusError` that says what came back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests


class PrometheusError(Exception):
    """Prometheus could not be asked, or answered something other than a result."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of the answer, None where there was no answer

    @property
    def unavailable(self) -> bool:
        """503: a Prometheus that is starting, or a service proxy with no ready endpoint (yet)."""
        return self.status == HTTPStatus.SERVICE_UNAVAILABLE


@dataclass(frozen=True)
class Series:
    """One series of a range-vector selector's answer: its labels and its samples (time, value), oldest first."""

    labels: dict[str, str]
    samples: tuple[tuple[float, float], ...]

    @property
    def latest(self) -> tuple[float, float]:
        return self.samples[-1]


@dataclass
class PromQL:
    """Prometheus' HTTP API below ``base_url``; ``description`` says how it was found, for messages."""

    base_url: str
    session: requests.Session
    timeout_s: float
    description: str

    def api(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The ``data`` of one API answer, or :class:`PrometheusError` naming the request and the answer."""
        url = f"{self.base_url}/api/v1/{path}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout_s)
        except requests.RequestException as err:
            raise PrometheusError(f"GET {url}: {type(err).__name__}: {err}") from err
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") != "success":
            # Prometheus says ``error``; a Kubernetes API server's proxy answers a Status with ``message``
            detail = (body.get("error") or body.get("message")) if isinstance(body, dict) else None
            raise PrometheusError(
                f"GET {url} answered HTTP {response.status_code}: {detail or response.text[:200]}",
                response.status_code,
            )
        return body.get("data")

    def build_info(self) -> dict[str, str]:
        """``/api/v1/status/buildinfo``: the version; answering it is what makes a URL a Prometheus."""
        data = self.api("status/buildinfo")
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def build_info_once_available(
        self, deadline: float, poll_s: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> dict[str, str]:
        """:meth:`build_info`, asked again while the answer is 503 until ``deadline``.

        A 503 is a delay, not an answer: Prometheus answers it until its storage is ready, and a
        service proxy until the Service has a ready endpoint (a Prometheus pod that is starting or
        restarting). Anything else, or a 503 still at the deadline, is raised.
        """
        while True:
            try:
                return self.build_info()
            except PrometheusError as err:
                if not err.unavailable or clock() + poll_s > deadline:
                    raise
            time.sleep(poll_s)

    def series(self, selector: str, window_s: float) -> list[Series]:
        """Every sample scraped in the last ``window_s`` for ``selector`` (a range-vector query)."""
        data = self.api("query", {"query": f"{selector}[{window_s:.0f}s]"})
        if data.get("resultType") != "matrix":
            raise PrometheusError(f"{selector}[{window_s:.0f}s] answered a {data.get('resultType')}, not a matrix")
        return [
            Series(dict(r["metric"]), tuple((float(t), float(v)) for t, v in r["values"]))
            for r in data["result"]
            if r.get("values")
        ]

    def targets(self) -> list[dict[str, Any]]:
        """Every scrape target, active and dropped, as ``/api/v1/targets`` describes them (``state`` added)."""
        data = self.api("targets", {"state": "any"})
        active = [{**t, "state": "active"} for t in data.get("activeTargets", [])]
        return active + [{**t, "state": "dropped"} for t in data.get("droppedTargets", [])]


def selector(metric: str, labels: dict[str, str]) -> str:
    """``metric{a="b",...}`` with the values quoted as PromQL string literals."""
    matchers = ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{matchers}}}"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
