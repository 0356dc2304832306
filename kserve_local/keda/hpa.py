"""How the HPA KEDA creates turns a trigger's value into replicas (kube-controller-manager's rules).

KEDA serves each trigger to its HorizontalPodAutoscaler as an external metric; the HPA decides:

- ``AverageValue`` (a Prometheus trigger's default): the value is divided among the replicas,
  ``desired = ceil(value / threshold)``, unless ``value / (threshold * current)`` is within the
  tolerance (10 %) of 1, when the replicas stay.
- ``Value``: ``desired = ceil(current * value / threshold)``, with the same tolerance.

Several triggers: the largest recommendation wins. Scale-downs wait for the downscale
stabilization window (the highest recommendation of the window is kept), scale-ups for the
upscale one (the lowest), both from ``spec.advanced.horizontalPodAutoscalerConfig.behavior``, or
the controller manager's defaults (downscale: its ``--horizontal-pod-autoscaler-downscale-stabilization``,
which the local target takes as ``--hpa-downscale-stabilization``; upscale: none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance


def external_replicas(value: float, threshold: float, metric_type: str, current: int) -> int:
    """The HPA's recommendation for one external metric."""
    if threshold <= 0:
        return current
    if metric_type == "Value":
        ratio = value / threshold
        if current and abs(1 - ratio) <= TOLERANCE:
            return current
        return math.ceil(ratio * max(current, 1))
    if current and abs(1 - value / (threshold * current)) <= TOLERANCE:
        return current
    return math.ceil(value / threshold)


@dataclass
class Stabilizer:
    """The HPA's stabilization windows over its recommendations."""

    down_s: float
    up_s: float = 0.0
    recommendations: list[tuple[float, int]] = field(default_factory=list)

    def stabilize(self, now: float, want: int, current: int) -> int:
        horizon = max(self.down_s, self.up_s)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - horizon]
        self.recommendations.append((now, want))
        if want < current:  # down only as far as the highest recommendation of the down window
            return min(current, max(r for t, r in self.recommendations if t > now - self.down_s or t == now))
        if want > current:  # up only as far as the lowest recommendation of the up window
            return max(current, min(r for t, r in self.recommendations if t > now - self.up_s or t == now))
        return want
