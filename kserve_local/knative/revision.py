"""Revisions and their replicas: what the controller creates, the kubelet runs and the gateway routes to.

A revision is one version of a predictor's spec (Knative's Revision; in Standard mode the
Deployment's current ReplicaSet), and each of its replicas is one real model-server process with
its pod object. The gateway counts the requests in flight per revision and replica, which is
what Knative's autoscaler reads from the queue-proxies and the activator, and asks a revision at
zero replicas to activate, as Knative's activator holds a request while the revision scales up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kserve_local.knative.autoscaler import Hpa, Kpa, Scaling
from kserve_local.kubelet import Launch, Replica


@dataclass(eq=False)
class Revision:
    """One revision of one InferenceService's predictor, with 0..N replicas."""

    isvc: str
    namespace: str
    number: int
    template: dict[str, Any]
    launch: Launch
    scaling: Scaling
    replicas: list[Replica] = field(default_factory=list)
    ever_ready: bool = False
    unmeasured_reported: bool = False  # the event for a scaleMetric the target cannot measure was written
    hosts: tuple[str, ...] = ()
    path_prefix: str = ""
    inflight: int = 0
    autoscaler: Kpa | Hpa | None = None
    activator: Callable[[Revision], Awaitable[None]] | None = field(default=None, repr=False)
    _area: float = 0.0  # in-flight requests integrated over time since the last sample
    _last: float = field(default_factory=time.monotonic)
    _sampled_at: float = field(default_factory=time.monotonic)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    @property
    def name(self) -> str:
        return f"{self.isvc}-predictor-{self.number:05d}"

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.isvc

    def ready_replicas(self) -> list[Replica]:
        return [r for r in self.replicas if r.ready]

    def pick(self) -> Replica | None:
        """The ready replica with the fewest requests in flight (Knative's activator and Envoy's
        least-request balancing both prefer it)."""
        ready = self.ready_replicas()
        return min(ready, key=lambda r: r.inflight) if ready else None

    def track(self, delta: int) -> None:
        now = time.monotonic()
        self._area += self.inflight * (now - self._last)
        self._last, self.inflight = now, self.inflight + delta

    def average_concurrency(self) -> float:
        """Average requests in flight since the previous call: the autoscaler's sample."""
        self.track(0)
        elapsed = max(self._last - self._sampled_at, 1e-3)
        area, self._area, self._sampled_at = self._area, 0.0, self._last
        return area / elapsed

    async def changed(self) -> None:
        """Wake whoever waits for this revision's replicas (the activator)."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_ready(self, timeout_s: float) -> Replica | None:
        """A ready replica, activating the revision first if it is scaled to zero."""
        replica = self.pick()
        if replica is not None:
            return replica
        if self.activator is not None:
            await self.activator(self)
        if not self.replicas:
            return None  # nothing is starting (no activator): no upstream to wait for
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self._changed:
            while (replica := self.pick()) is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return None
        return replica
