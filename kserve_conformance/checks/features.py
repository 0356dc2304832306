"""The one vocabulary of what a check declares: its level and the features it needs.

Gateway API names each optional capability once (``SupportHTTPRouteQueryParamMatching``) and
writes that name into reports; this module does the same, so a feature has one spelling in the
checks, in ``not_supported(...)``, in the conformance report's ``features`` and in Allure's tags.
Values are PascalCase, as Gateway API's are: the value *is* what a report carries, so renaming a
member's value is a change to the report format, not a refactoring.

A feature is something a conforming target may lack: a check that needs one the target does not
have is reported *not supported* (``not_supported(Feature.X, why)``), never failed.
"""

from __future__ import annotations

import enum


class Level(enum.StrEnum):
    """How binding a check is; the values are the report's profile names."""

    CORE = "core"  # required by the spec and by every runtime KServe ships: a failure is non-conformance
    EXTENDED = "extended"  # the rest the spec requires, recommends or leaves to the implementation


class Feature(enum.StrEnum):
    """A capability a check needs; the value is the spelling written into reports and Allure tags."""

    # Control plane
    KNATIVE = "Knative"  # the InferenceService runs in Knative (serverless) deployment mode
    CANARY = "Canary"  # canary rollouts: spec.predictor.canaryTrafficPercent splits, promotes, rolls back
    SCALE_TO_ZERO = "ScaleToZero"  # minReplicas: 0 scales an idle predictor to zero, the activator holds requests
    AUTOSCALING = "Autoscaling"  # replicas follow load (KPA on concurrency in Knative mode, HPA on cpu in Standard)
    CUSTOM_METRIC_AUTOSCALING = "CustomMetricAutoscaling"  # KEDA scales a predictor on a Prometheus query
    # KServe's LLMInferenceService (serving.kserve.io v1alpha1/v1alpha2) is installed: its CRD is served
    LLM_INFERENCE_SERVICE = "LLMInferenceService"
    # The LLM workload's model server counts its prefix-cache hits in its own /metrics (vLLM's
    # vllm:prefix_cache_hits), which the prefix-aware routing checks read through the pod proxy
    LLM_PREFIX_CACHE_METRICS = "LLMPrefixCacheMetrics"
    # Data plane: V1 and V2 (Open Inference Protocol)
    V1_FORM_BODY = "V1FormBody"  # a V1 JSON body sent with curl -d's form content type is read as JSON
    BINARY_TENSOR_DATA = "BinaryTensorData"  # the OIP binary_tensor_data extension: raw tensor bytes after JSON
    MODEL_VERSIONS = "ModelVersions"  # /v2/models/{name}/versions/{version}/... for versions the metadata lists
    GRPC = "GRPC"  # the OIP gRPC endpoint (GRPCInferenceService) is reachable from the suite
    # OpenAI-compatible API (generative runtimes)
    OPENAI = "OpenAI"  # /v1/completions, /v1/chat/completions and /v1/models as the OpenAI API reference defines
    OPENAI_STREAMING = "OpenAIStreaming"  # stream: true answers as data-only server-sent events ending in [DONE]
    OPENAI_RETRIEVE_MODEL = "OpenAIRetrieveModel"  # GET /v1/models/{model} retrieves one model
    OPENAI_USAGE = "OpenAIUsage"  # a completion answer carries its token usage (optional in the reference)
    # Monitoring
    MONITORING = "Monitoring"  # a monitoring system (Prometheus) discovers the model pods and collects their metrics
    # Metrics
    METRICS = "Metrics"  # the model server exports Prometheus metrics where its pod's annotations say
    # Performance
    LOAD = "Load"  # open-loop constant-rate load judged against latency, error-rate (and token) thresholds
