"""How many replicas a revision should have: Knative's KPA (Knative mode) and the HPA (Standard).

KServe turns ``minReplicas``/``maxReplicas``/``scaleMetric``/``scaleTarget`` into Knative
autoscaling annotations or an HPA; these functions make the same decisions on the local target
from what it can measure itself: requests in flight through its gateway (what Knative's
queue-proxy and activator report) and the model servers' CPU (what metrics-server reports).

Cluster-wide settings come from where a cluster keeps them: Knative's ``config-autoscaler``
ConfigMap (``stable-window``, ``scale-to-zero-grace-period``,
``container-concurrency-target-percentage``, ...), and for the HPA the controller manager's flags,
which the local target takes as its own options. The per-service ``autoscaling.knative.dev/window``
annotation overrides the stable window, as on Knative.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

KNATIVE_WINDOW = "autoscaling.knative.dev/window"
# Knative's defaults (config-autoscaler), used where the ConfigMap does not say.
KNATIVE_DEFAULTS = {
    "stable-window": "60s",
    "scale-to-zero-grace-period": "30s",
    "container-concurrency-target-percentage": "70",
    "container-concurrency-target-default": "100",
    "panic-window-percentage": "10",
    "panic-threshold-percentage": "200",
    "max-scale-limit": "0",
    "enable-scale-to-zero": "true",
}
# KServe's defaults: minReplicas 1; the HPA's CPU utilization target 80 %; the CPU request 1 core.
DEFAULT_MIN_REPLICAS, DEFAULT_HPA_TARGET, DEFAULT_CPU_REQUEST = 1, 80.0, 1.0
# The local target runs every replica on this machine: beyond this many per revision, it says so
# and stops (a real cluster's limit is its nodes).
LOCAL_REPLICA_LIMIT = 4
HPA_TOLERANCE = 0.1  # kube-controller-manager --horizontal-pod-autoscaler-tolerance


def duration_s(text: str) -> float:
    """``6s``, ``1m30s``, ``500ms``, as Go's time.ParseDuration reads Knative's settings."""
    total, pos = 0.0, 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip()):
        if match.start() != pos:
            break
        total += float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]
        pos = match.end()
    if pos != len(text.strip()) or not text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return total


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


@dataclass(frozen=True)
class Scaling:
    """A predictor's autoscaling spec, with KServe's defaults applied."""

    min_replicas: int = DEFAULT_MIN_REPLICAS
    max_replicas: int = 0  # 0: no bound (the local limit still applies)
    metric: str = "concurrency"
    target: float | None = None
    window_s: float | None = None  # the autoscaling.knative.dev/window annotation
    cpu_request: float = DEFAULT_CPU_REQUEST

    @classmethod
    def of(
        cls, predictor: dict[str, Any], model: dict[str, Any], annotations: dict[str, str], standard: bool
    ) -> Scaling:
        minimum = predictor.get("minReplicas")
        window = annotations.get(KNATIVE_WINDOW)
        requests = (model.get("resources") or predictor.get("resources") or {}).get("requests") or {}
        return cls(
            min_replicas=DEFAULT_MIN_REPLICAS if minimum is None else int(minimum),
            max_replicas=int(predictor.get("maxReplicas") or 0),
            metric=predictor.get("scaleMetric") or ("cpu" if standard else "concurrency"),
            target=float(predictor["scaleTarget"]) if predictor.get("scaleTarget") is not None else None,
            window_s=duration_s(window) if window else None,
            cpu_request=cpu_cores(requests.get("cpu", DEFAULT_CPU_REQUEST)),
        )

    def bound(self, replicas: int, floor: int) -> int:
        """Between ``floor`` (min-scale, or 0 when scaling to zero) and the maximum."""
        ceiling = min(self.max_replicas or LOCAL_REPLICA_LIMIT, LOCAL_REPLICA_LIMIT)
        return max(floor, min(replicas, ceiling))


@dataclass(frozen=True)
class KnativeConfig:
    stable_window_s: float
    grace_s: float
    target_utilization: float
    default_target: float
    panic_window_fraction: float
    panic_threshold: float
    scale_to_zero: bool

    @classmethod
    def of(cls, data: dict[str, str] | None) -> KnativeConfig:
        d = {**KNATIVE_DEFAULTS, **(data or {})}
        return cls(
            stable_window_s=duration_s(d["stable-window"]),
            grace_s=duration_s(d["scale-to-zero-grace-period"]),
            target_utilization=float(d["container-concurrency-target-percentage"]) / 100,
            default_target=float(d["container-concurrency-target-default"]),
            panic_window_fraction=float(d["panic-window-percentage"]) / 100,
            panic_threshold=float(d["panic-threshold-percentage"]) / 100,
            scale_to_zero=d["enable-scale-to-zero"].lower() == "true",
        )


@dataclass
class Kpa:
    """Knative's pod autoscaler for one revision: concurrency averaged over the stable window,
    a panic mode on the short window when load jumps, scale to zero after the grace period."""

    scaling: Scaling
    samples: list[tuple[float, float]] = field(default_factory=list)  # (time, average in-flight since last)
    panic_until: float = 0.0
    idle_since: float | None = None

    def observe(self, now: float, concurrency: float) -> None:
        self.samples.append((now, concurrency))

    def desired(self, now: float, ready: int, config: KnativeConfig) -> int:
        window = self.scaling.window_s or config.stable_window_s
        self.samples = [(t, c) for t, c in self.samples if t > now - window]
        target = (self.scaling.target or config.default_target) * config.target_utilization
        stable = _mean(c for _, c in self.samples)
        panic = _mean(c for t, c in self.samples if t > now - window * config.panic_window_fraction)
        want_stable, want_panic = math.ceil(stable / target), math.ceil(panic / target)
        if ready and want_panic / ready >= config.panic_threshold:
            self.panic_until = now + window  # panic lasts a stable window past the last trigger
        want = max(want_stable, want_panic, ready) if now < self.panic_until else want_stable
        # Only minReplicas 0 on a cluster that allows it reaches zero; otherwise at least one replica.
        floor = 0 if config.scale_to_zero and self.scaling.min_replicas == 0 else max(self.scaling.min_replicas, 1)
        if want > 0 or floor > 0:
            self.idle_since = None
            return self.scaling.bound(want, max(floor, 1))
        # No traffic for a whole stable window: the last replica goes after the grace period.
        self.idle_since = self.idle_since if self.idle_since is not None else now
        return 0 if ready == 0 or now - self.idle_since >= config.grace_s else 1


@dataclass
class Hpa:
    """The HorizontalPodAutoscaler KServe creates in Standard mode: CPU utilization of the
    request, a tolerance band, and a downscale stabilization window (scale-ups are immediate)."""

    scaling: Scaling
    downscale_stabilization_s: float
    recommendations: list[tuple[float, int]] = field(default_factory=list)

    def desired(self, now: float, ready: int, cpu_percent: list[float]) -> int:
        if not ready or not cpu_percent:
            return self.scaling.bound(ready, max(self.scaling.min_replicas, 1))
        target = self.scaling.target or DEFAULT_HPA_TARGET
        utilization = _mean(p / self.scaling.cpu_request for p in cpu_percent)
        ratio = utilization / target
        want = ready if abs(ratio - 1) <= HPA_TOLERANCE else math.ceil(ready * ratio)
        want = self.scaling.bound(want, max(self.scaling.min_replicas, 1))
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - self.downscale_stabilization_s]
        self.recommendations.append((now, want))
        # Downscale only to the highest recommendation of the stabilization window.
        return want if want >= ready else max(r for _, r in self.recommendations)


def _mean(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
