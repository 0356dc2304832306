"""KServe's KEDA path: a predictor with ``serving.kserve.io/autoscalerClass: keda`` in Standard mode
gets a KEDA ``ScaledObject`` instead of an HPA.

What KServe's keda reconciler writes (pkg/controller/v1beta1/inferenceservice/reconcilers/keda),
computed here by our own code: the ScaledObject is named as the predictor's Deployment
(``NAME-predictor``), carries the component's labels and annotations, is owned by the
InferenceService, targets that Deployment, takes ``minReplicas`` (default 1) and ``maxReplicas``
(raised to ``minReplicas`` when lower), and turns each ``spec.predictor.autoScaling.metrics[]``
entry into a trigger:

- ``type: External`` → a trigger of the backend's type (``prometheus``) with ``serverAddress``,
  ``query`` and ``threshold`` (``target.value``, written with six decimals as Go's ``%f``), plus
  ``namespace`` and ``authModes``/``authenticationRef`` when given. No ``metricType``: KEDA then
  takes the threshold as an ``AverageValue`` per replica.
- ``type: Resource`` → a ``cpu``/``memory`` trigger with ``metricType`` and ``metadata.value``.
- ``type: PodMetric`` (OpenTelemetry) → an ``external`` trigger for KEDA's otel add-on.

``autoScaling.behavior``'s stabilization windows go to ``spec.advanced.horizontalPodAutoscalerConfig``,
as the KServe releases that read them do.
"""

from __future__ import annotations

from typing import Any

from kserve_local.apiserver.resources import INFERENCESERVICES, SCALEDOBJECTS
from kserve_local.apiserver.store import Obj
from kserve_local.kserve.config import Mode

AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
KEDA = "keda"
DEFAULT_MIN_REPLICAS = 1
DEFAULT_CPU_UTILIZATION = 80  # KServe's constants.DefaultCPUUtilization
ISVC_LABEL = "serving.kserve.io/inferenceservice"
# Annotations KServe does not pass on to the components it creates (kubectl's bookkeeping).
NOT_PROPAGATED = {"kubectl.kubernetes.io/last-applied-configuration"}


def uses_keda(mode: Mode, annotations: dict[str, str] | None) -> bool:
    """KServe creates a ScaledObject only in Standard mode, for the ``keda`` autoscaler class."""
    return mode is Mode.STANDARD and (annotations or {}).get(AUTOSCALER_CLASS, "").lower() == KEDA


def scaled_object_name(isvc_name: str) -> str:
    """The predictor's Deployment's name, which the ScaledObject shares."""
    return f"{isvc_name}-predictor"


def scaled_object(isvc: Obj) -> Obj:
    """The ScaledObject KServe's keda reconciler creates for the predictor of ``isvc``."""
    meta = isvc["metadata"]
    predictor = isvc["spec"].get("predictor") or {}
    name = scaled_object_name(meta["name"])
    minimum = predictor.get("minReplicas")
    minimum = DEFAULT_MIN_REPLICAS if minimum is None else int(minimum)
    maximum = max(int(predictor.get("maxReplicas") or 0), minimum)
    autoscaling = predictor.get("autoScaling") or {}
    labels = {
        **(meta.get("labels") or {}),
        ISVC_LABEL: meta["name"],
        "component": "predictor",
        "app": f"isvc.{name}",
    }
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOT_PROPAGATED}
    spec: Obj = {
        "scaleTargetRef": {"name": name},
        "triggers": [t for t in (trigger(m) for m in autoscaling.get("metrics") or []) if t is not None],
        "minReplicaCount": minimum,
        "maxReplicaCount": maximum,
    }
    behavior = hpa_behavior(autoscaling.get("behavior") or {})
    if behavior:
        spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": behavior}}
    return {
        "apiVersion": SCALEDOBJECTS.api_version,
        "kind": SCALEDOBJECTS.kind,
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": INFERENCESERVICES.api_version,
                    "kind": INFERENCESERVICES.kind,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def trigger(metric: dict[str, Any]) -> Obj | None:
    """One ``autoScaling.metrics[]`` entry as a KEDA trigger; None for a type KServe does not map."""
    kind = metric.get("type")
    if kind == "External":
        source = metric.get("external") or {}
        spec = source.get("metric") or {}
        backend = spec.get("backend", "")
        out: Obj = {
            "type": backend,
            "metadata": {
                "serverAddress": spec.get("serverAddress", ""),
                "query": spec.get("query", ""),
                "threshold": f"{quantity((source.get('target') or {}).get('value', 0)):f}",
            },
        }
        if backend == "prometheus" and spec.get("namespace"):
            out["metadata"]["namespace"] = spec["namespace"]
        auth = source.get("authenticationRef") or {}
        if auth.get("authModes"):
            out["metadata"]["authModes"] = auth["authModes"]
        if (auth.get("authenticationRef") or {}).get("name"):
            out["authenticationRef"] = {"name": auth["authenticationRef"]["name"]}
        return out
    if kind == "Resource":
        source = metric.get("resource") or {}
        target = source.get("target") or {}
        target_type = target.get("type", "")
        value: Any = "0"
        if target_type == "Utilization":
            utilization = target.get("averageUtilization")
            if utilization is None and source.get("name") == "cpu":
                utilization = DEFAULT_CPU_UTILIZATION
            value = str(utilization) if utilization is not None else "0"
        elif target_type == "AverageValue" and target.get("averageValue") is not None:
            value = str(target["averageValue"])
        elif target_type == "Value" and target.get("value") is not None:
            value = str(target["value"])
        return {"type": source.get("name", ""), "metadata": {"value": value}, "metricType": target_type}
    if kind == "PodMetric":
        source = metric.get("podmetric") or {}
        spec = source.get("metric") or {}
        if spec.get("backend") != "opentelemetry":
            return {"type": spec.get("backend", ""), "metadata": {}}
        metadata = {
            "metricQuery": spec.get("query", ""),
            "targetValue": f"{quantity((source.get('target') or {}).get('value', 0)):f}",
            "scalerAddress": spec.get("serverAddress") or "keda-otel-scaler.keda.svc:4318",
        }
        if spec.get("operationOverTime"):
            metadata["operationOverTime"] = spec["operationOverTime"]
        return {"type": "external", "metadata": metadata}
    return None


def hpa_behavior(behavior: dict[str, Any]) -> Obj:
    """The stabilization windows of ``autoScaling.behavior``, as the HPA config KEDA takes."""
    out: Obj = {}
    for direction in ("scaleUp", "scaleDown"):
        window = (behavior.get(direction) or {}).get("stabilizationWindowSeconds")
        if window is not None:
            out[direction] = {"stabilizationWindowSeconds": int(window)}
    return out


SUFFIXES = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: Any) -> float:
    """A Kubernetes quantity (``50``, ``"2.5"``, ``"500m"``, ``"1Ki"``) as a float."""
    text = str(value).strip()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)]:
            return float(text[: -len(suffix)]) * SUFFIXES[suffix]
    return float(text)
