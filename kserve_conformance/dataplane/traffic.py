"""Closed-loop background traffic and the classes its answers are counted in.

A few threads, each one request after the other, count every answer by class, so "no request
failed during the change" is a count, and "which revision answered" is read from the body.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

OLD, CANARY, NEITHER = "old", "canary", "neither"


# --- answers -----------------------------------------------------------------------------------
def classify(body: Any, answers: Mapping[str, Any]) -> str:
    """Which revision answered: ``answers`` (from the data file) holds each revision's exact body."""
    if body == answers[OLD]:
        return OLD
    if body == answers[CANARY]:
        return CANARY
    return NEITHER


def answer_class(status: int | None, body: bytes, answers: Mapping[str, Any]) -> str:
    """``old`` / ``canary`` / ``neither`` for a 200; otherwise the status (or transport error) itself."""
    if status is None:
        return "transport error"
    if status != 200:
        return str(status)
    try:
        return classify(json.loads(body), answers)
    except ValueError:
        return NEITHER


def describe_counts(counts: Counter[str]) -> str:
    """``503 ×3, transport error ×1``: every class with its exact count, most frequent first."""  # noqa: RUF002
    return ", ".join(f"{k} \u00d7{v}" for k, v in counts.most_common()) or "none"


# --- background traffic ------------------------------------------------------------------------
@dataclass
class Request:
    """One data-plane request, as the closed loop repeats it."""

    url: str
    headers: dict[str, str]
    body: bytes | None  # None: a GET
    timeout_s: float

    def send(self, session: requests.Session) -> requests.Response:
        if self.body is None:
            return session.get(self.url, headers=self.headers, timeout=self.timeout_s)
        return session.post(self.url, data=self.body, headers=self.headers, timeout=self.timeout_s)


@dataclass
class ClosedLoop:
    """``workers`` threads, each sending ``request`` again as soon as the last one is answered.

    Closed loop on purpose: it keeps a known concurrency in flight (what Knative's autoscaler
    scales on) and, during a rollout, sends requests throughout the change without piling up a
    queue behind a slow cold start. Every answer is counted by ``classify(status, body)``.
    """

    request: Request
    classify: Callable[[int | None, bytes], str]
    workers: int = 1
    counts: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> ClosedLoop:
        for i in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"closed-loop-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Counter[str]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.request.timeout_s + 5)
        return self.counts

    @property
    def sent(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                r = self.request.send(session)
                label = self.classify(r.status_code, r.content)
            except requests.RequestException:
                label = self.classify(None, b"")
            with self._lock:
                self.counts[label] += 1
        session.close()


def failures(counts: Counter[str], ok: Iterable[str]) -> Counter[str]:
    """The classes of ``counts`` that are not in ``ok``."""
    good = set(ok)
    return Counter({k: v for k, v in counts.items() if k not in good})


def error_counts(counts: Counter[str]) -> str:
    """The counts of every answer but a 200, described: what failed under load."""
    return describe_counts(failures(counts, ("200",)))
