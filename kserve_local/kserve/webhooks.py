"""KServe's InferenceService admission webhooks: the defaulter and the validator.

On a cluster both are served by the webhook server inside ``kserve-controller-manager`` and
registered by the ``inferenceservice.serving.kserve.io`` Mutating- and
ValidatingWebhookConfigurations (``data/install.yaml``); the API server calls them on CREATE and
UPDATE, the defaulter before its own schema validation, the validator after. Here they are
functions the store calls at the same two points (:class:`kserve_local.apiserver.store.Store`).

Written from KServe's source (``pkg/apis/serving/v1beta1/inference_service_defaults.go``,
``inference_service_validation.go``, ``component.go``; v0.15 to v0.20), by this project's code:

* **defaulter** (``DefaultInferenceService``): a legacy deploymentMode value is renamed
  (RawDeployment → Standard, Serverless → Knative); without the annotation, a cluster whose
  default mode is Standard or ModelMesh gets it written; the first legacy framework predictor
  (``sklearn``, ``tensorflow``, ...) becomes ``model`` with that ``modelFormat`` (triton, onnx and
  huggingface with ``protocolVersion: v2`` unless given); a ``model`` of format triton or vLLM
  gets ``protocolVersion: v2``; the ``modelFormat`` annotation names the format (since v0.17);
  ``automountServiceAccountToken: false`` on each component when ``security`` says so.
* **validator** (``validateInferenceService``): the name is a DNS-1035 label; the autoscaler
  class is one KServe knows; the predictor has exactly one implementation; each component's
  containerConcurrency and min/max replicas are sane; scaleMetric and scaleTarget fit the
  autoscaler (KPA in Knative mode, HPA or KEDA in Standard). The first failed rule is the
  message, in KServe's words. Not modelled: multi-node, storage URI formats, canaries,
  confidential serving, the KEDA ``autoScaling.metrics`` details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from kserve_local.apiserver.admission import denied
from kserve_local.apiserver.resources import INFERENCESERVICES
from kserve_local.apiserver.store import Obj, Store
from kserve_local.kserve.config import CONFIGMAPS, KSERVE_NAMESPACE, MODE_ANNOTATION

DEFAULTER = "inferenceservice.kserve-webhook-server.defaulter"
VALIDATOR = "inferenceservice.kserve-webhook-server.validator"
NAME_FORMAT = "[a-z]([-a-z0-9]*[a-z0-9])?"
NAME = re.compile(f"^{NAME_FORMAT}$")
# The legacy framework predictors, in the order KServe's defaulter tries them; (field, model format).
FRAMEWORKS = (
    ("sklearn", "sklearn"),
    ("tensorflow", "tensorflow"),
    ("xgboost", "xgboost"),
    ("pytorch", "pytorch"),
    ("triton", "triton"),
    ("onnx", "onnx"),
    ("huggingface", "huggingface"),
    ("pmml", "pmml"),
    ("lightgbm", "lightgbm"),
    ("paddle", "paddle"),
)
V2_BY_DEFAULT = {"triton", "onnx", "huggingface"}  # legacy specs that get protocolVersion v2
V2_MODEL_FORMATS = {"triton", "vLLM"}  # model formats that get protocolVersion v2
# PredictorSpec's fields but the last, as ExactlyOneErrorFor lists them (v0.20).
PREDICTOR_FIELDS = (
    "Name, SKLearn, XGBoost, Tensorflow, PyTorch, Triton, ONNX, HuggingFace, PMML, LightGBM, Paddle, "
    "Model, StorageUris, StorageContainerName, WorkerSpec, PodSpec"
)
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
AUTOSCALER_CLASSES = ("hpa", "external", "keda", "none")
KNATIVE_CLASS = "autoscaling.knative.dev/class"
KNATIVE_HPA = "hpa.autoscaling.knative.dev"
MODEL_FORMAT_ANNOTATION = "modelFormat"
COMPONENTS = ("predictor", "transformer", "explainer")


def _config(store: Store) -> dict[str, Any]:
    """``deploy`` and ``security`` of ``inferenceservice-config``, read on every call as KServe does."""
    cm = store.find(CONFIGMAPS, KSERVE_NAMESPACE, "inferenceservice-config") or {}
    data = cm.get("data") or {}
    out: dict[str, Any] = {}
    for key in ("deploy", "security"):
        try:
            out[key] = json.loads(data.get(key) or "{}")
        except json.JSONDecodeError:
            out[key] = {}
    return out


def _mode_name(value: str) -> str:
    """Knative, Standard or ModelMesh: KServe 0.20's names, the legacy ones renamed."""
    return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(value, value)


def default(isvc: Obj, config: Mapping[str, Any]) -> None:
    """What KServe's defaulter writes into an InferenceService on create and update."""
    meta = isvc.setdefault("metadata", {})
    annotations: dict[str, str] = meta.get("annotations") or {}
    mode = annotations.get(MODE_ANNOTATION)
    if mode is not None and _mode_name(mode) != mode:
        annotations[MODE_ANNOTATION] = mode = _mode_name(mode)
    if mode is None:
        cluster_default = _mode_name(str(config.get("deploy", {}).get("defaultDeploymentMode") or ""))
        if cluster_default in ("Standard", "ModelMesh"):
            annotations[MODE_ANNOTATION] = cluster_default
    predictor = isvc.setdefault("spec", {}).setdefault("predictor", {})
    if mode != "ModelMesh":
        _model_defaults(predictor, annotations)
    if annotations:
        meta["annotations"] = annotations
    # KServe reads a missing setting as false: only an explicit true leaves the token mounted.
    if not config.get("security", {}).get("autoMountServiceAccountToken", False):
        for name in COMPONENTS:
            component = isvc["spec"].get(name)
            if isinstance(component, dict):
                component.setdefault("automountServiceAccountToken", False)


def _model_defaults(predictor: Obj, annotations: dict[str, str]) -> None:
    for field, model_format in FRAMEWORKS:
        legacy = predictor.get(field)
        if legacy is not None:
            spec = dict(legacy)
            if model_format in V2_BY_DEFAULT:
                spec.setdefault("protocolVersion", "v2")
            predictor["model"] = {"modelFormat": {"name": model_format}, **spec}
            del predictor[field]
            break
    model = predictor.get("model")
    if isinstance(model, dict):
        model_format = (model.get("modelFormat") or {}).get("name") or ""
        if model_format in V2_MODEL_FORMATS:
            model.setdefault("protocolVersion", "v2")
        if model_format:
            annotations.setdefault(MODEL_FORMAT_ANNOTATION, model_format)


def validate(isvc: Obj, old: Obj | None) -> str | None:
    """KServe's reason for refusing the InferenceService, or None when it is admitted."""
    meta = isvc.get("metadata", {})
    if old is not None and meta.get("deletionTimestamp"):
        return None
    name = meta.get("name", "")
    if not NAME.match(name):
        return (
            f'the InferenceService "{name}" is invalid: a InferenceService name must consist of lower case '
            "alphanumeric characters or '-', and must start with alphabetical character. "
            f'(e.g. "my-name" or "abc-123", regex used for validation is \'{NAME_FORMAT}\')'
        )
    annotations = meta.get("annotations") or {}
    autoscaler = annotations.get(AUTOSCALER_CLASS)
    if autoscaler is not None and autoscaler not in AUTOSCALER_CLASSES:
        return f"[{autoscaler}] is not a supported autoscaler class type"
    spec = isvc.get("spec", {})
    for name in COMPONENTS:
        component = spec.get(name)
        if not isinstance(component, dict):
            continue
        if name == "predictor" and len(_implementations(component)) != 1:
            return f"exactly one of [{PREDICTOR_FIELDS}] must be specified in PredictorSpec"
        problem = _extension(component) or _autoscaling(annotations, component)
        if problem:
            return problem
    return None


def _implementations(predictor: Obj) -> list[str]:
    found = [field for field, _ in FRAMEWORKS if predictor.get(field) is not None]
    if predictor.get("model") is not None:
        found.append("model")
    if predictor.get("containers"):
        found.append("containers")
    return found


def _extension(component: Obj) -> str | None:
    """ComponentExtensionSpec.Validate: containerConcurrency, replicas, logger."""
    concurrency = component.get("containerConcurrency")
    if isinstance(concurrency, int) and concurrency < 0:
        return "parallelism cannot be less than 0"
    low, high = component.get("minReplicas", 1), component.get("maxReplicas", 0)
    if isinstance(low, int) and low < 0:
        return "'MinReplicas' cannot be less than 0"
    if isinstance(high, int) and high < 0:
        return "'MaxReplicas' cannot be less than 0"
    if isinstance(low, int) and isinstance(high, int) and low > high and high != 0:
        return "'MinReplicas' cannot be greater than MaxReplicas"
    logger = component.get("logger")
    if isinstance(logger, dict) and logger.get("mode", "all") not in ("all", "request", "response"):
        return "invalid logger type"
    return None


def _autoscaling(annotations: Mapping[str, str], component: Obj) -> str | None:
    """validateAutoScalingCompExtension: the rules of the autoscaler the component will get."""
    metric, target = component.get("scaleMetric"), component.get("scaleTarget")
    if _mode_name(annotations.get(MODE_ANNOTATION, "")) == "Standard":
        autoscaler = annotations.get(AUTOSCALER_CLASS)
        if autoscaler == "hpa":
            return _hpa(metric, target, component)
        if autoscaler == "keda" and metric is not None:
            return "ScaleMetric is not supported for KEDA"
        return None
    if annotations.get(KNATIVE_CLASS) == KNATIVE_HPA:
        return _hpa(metric, target, component)
    if component.get("deploymentStrategy") is not None:
        return "customizing deploymentStrategy is only supported for raw deployment mode"
    metric = metric or "concurrency"
    if metric not in ("concurrency", "rps"):
        return f"[{metric}] is not a supported metric"
    if metric == "rps" and isinstance(target, int) and target < 1:
        return "the target for rps should be greater than 1"
    return None


def _hpa(metric: str | None, target: Any, component: Obj) -> str | None:
    metric = metric or "cpu"
    if metric not in ("cpu", "memory"):
        return f"[{metric}] is not a supported metric"
    if isinstance(target, int):
        # KServe's condition, precedence included: any target above 100 is refused, memory too.
        if (metric == "cpu" and target < 1) or target > 100:
            return "the target utilization percentage should be a [1-100] integer"
        if metric == "memory" and target < 1:
            return "the target memory should be greater than 1 MiB"
    for spec in (component.get("autoScaling") or {}).get("metrics") or []:
        kind = spec.get("type")
        if kind != "Resource":
            return f"invalid HPA metric source type with value [{kind}],valid metric source types are Resource"
        if spec.get("resource") is None:
            return "metricSpec.Resource is not set for resource metric source type"
    return None


def defaulter(store: Store) -> Callable[[Obj], None]:
    """The mutating webhook as the store calls it: the cluster's config read at each call."""
    return lambda isvc: default(isvc, _config(store))


def validator() -> Callable[[Obj, Obj | None], None]:
    """The validating webhook as the store calls it: a denial in the API server's words."""

    def admit(isvc: Obj, old: Obj | None) -> None:
        reason = validate(isvc, old)
        if reason is not None:
            raise denied(INFERENCESERVICES, isvc.get("metadata", {}).get("name", ""), VALIDATOR, reason)

    return admit
