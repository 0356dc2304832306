"""Deliberate defects for the local target, so every conformance check can be shown to fail.

A conformance suite that passes a broken server is worse than none: each check has a self-test
that starts the local target with one of these faults and asserts the check fails, naming the
defect. Faults are named by what a user would see, and each lives in the one component a real
deployment would break in: the KServe controller (status), the API server (admission), the model
server (predictions, readiness), or the gateway (routing, errors, latency, response bodies).

They are members of :class:`Fault`, not strings, so a misspelt fault in the target's code is an
``AttributeError`` at import, not a check that silently never fires; the names users type on the
command line are parsed once, at start-up (:func:`parse`), and an unknown one ends start-up.

Deterministic where counts matter: ``502-every=1000`` answers 502 to exactly every 1000th
request, so a load test can assert the exact count it must report.

This module imports nothing from the rest of the target: every component may import it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Component(enum.Enum):
    """Where a fault lives: the one component a real deployment would break in."""

    CONTROLLER = "KServe controller"
    API_SERVER = "API server"
    MODEL_SERVER = "model server"
    GATEWAY = "gateway"


class Fault(enum.Enum):
    """One named defect: the name users type, its component, its parameter (if any), what it does."""

    component: Component
    param: str  # how the parameter is written after "=" ("N", "N:MS", "TYPE"); "" for none
    default: str  # the parameter's value when none is given; "" when one is required
    description: str

    def __new__(cls, name: str, component: Component, param: str, default: str, description: str) -> Fault:
        member = object.__new__(cls)
        member._value_ = name
        member.component, member.param, member.default, member.description = component, param, default, description
        return member

    # The KServe controller: status.
    NEVER_READY = ("never-ready", Component.CONTROLLER, "", "", "IngressReady stays False, so Ready never becomes True")
    MISSING_CONDITION = (
        "missing-condition",
        Component.CONTROLLER,
        "TYPE",
        "IngressReady",
        "a condition is never written (missing-condition=TYPE, default IngressReady)",
    )
    WRONG_URL_HOST = (
        "wrong-url-host",
        Component.CONTROLLER,
        "",
        "",
        "status.url uses the other deployment mode's host format",
    )
    WRONG_ADDRESS = (
        "wrong-address",
        Component.CONTROLLER,
        "",
        "",
        "status.address.url names the wrong in-cluster service",
    )
    STALE_GENERATION = (
        "stale-generation",
        Component.CONTROLLER,
        "",
        "",
        "status.observedGeneration lags behind metadata.generation",
    )
    SPLIT_TRAFFIC = (
        "split-traffic",
        Component.CONTROLLER,
        "",
        "",
        "the latest revision gets 90% of traffic, not 100%",
    )
    NEVER_SCALE_TO_ZERO = (
        "never-scale-to-zero",
        Component.CONTROLLER,
        "",
        "",
        "the autoscaler keeps one replica of an idle revision with minReplicas 0",
    )
    NO_ACTIVATOR = (
        "no-activator",
        Component.CONTROLLER,
        "",
        "",
        "a request to a revision at zero replicas gets 503 at once; the revision stays at zero",
    )
    NO_AUTOSCALE = (
        "no-autoscale",
        Component.CONTROLLER,
        "",
        "",
        "the autoscaler keeps every revision at its initial replica count",
    )
    NO_SCALE_DOWN = ("no-scale-down", Component.CONTROLLER, "", "", "the autoscaler never removes a replica")
    KEDA_IGNORES_TRIGGER = (
        "keda-ignores-trigger",
        Component.CONTROLLER,
        "",
        "",
        "KEDA reads the ScaledObject's trigger (its status says Active) but never changes the replicas",
    )
    LLMISVC_READY_NEVER = (
        "llmisvc-ready-never",
        Component.CONTROLLER,
        "",
        "",
        "an LLMInferenceService's Ready stays False (MainWorkloadReady False, reason and message) while its "
        "data plane answers 200 (kserve#5986)",
    )
    LLMISVC_ROUTE_NO_BACKENDS = (
        "llmisvc-route-no-backends",
        Component.CONTROLLER,
        "",
        "",
        "an LLMInferenceService's HTTPRoute is written with no backendRefs while its status says RouterReady "
        "(kserve#5385)",
    )
    LLMISVC_ADDRESS_UNREACHABLE = (
        "llmisvc-address-unreachable",
        Component.CONTROLLER,
        "",
        "",
        "an LLMInferenceService's status.addresses[] name a port nothing listens on (status.url stays right)",
    )
    LLMISVC_MODELS_MISSING = (
        "llmisvc-models-missing",
        Component.CONTROLLER,
        "",
        "",
        "an LLMInferenceService's status.addresses[].models omit the served model name (spec.model.name)",
    )
    LLMISVC_STOP_IGNORED = (
        "llmisvc-stop-ignored",
        Component.CONTROLLER,
        "",
        "",
        'an LLMInferenceService\'s stop annotation (serving.kserve.io/stop: "true") changes nothing: it stays '
        "Ready and keeps serving",
    )
    LLMISVC_CONVERSION_LOSSY = (
        "llmisvc-conversion-lossy",
        Component.CONTROLLER,
        "",
        "",
        "KServe's conversion webhook drops an LLMInferenceService's metadata.labels in v1alpha1, so a read "
        "through v1alpha1 shows none and a write through it stores none",
    )
    LLMISVC_PREFIX_CACHING_OFF = (
        "llmisvc-prefix-caching-off",
        Component.CONTROLLER,
        "",
        "",
        "an LLMInferenceService's workload is started with vLLM's --no-enable-prefix-caching (as a config "
        "preset that turns it off would), so a repeated prompt prefix never hits the KV cache",
    )
    METRICS_ENDPOINT_404 = (
        "metrics-endpoint-404",
        Component.CONTROLLER,
        "",
        "",
        "the pods' prometheus.kserve.io/path names a path the model server answers 404",
    )
    NO_PROMETHEUS_ANNOTATIONS = (
        "no-prometheus-annotations",
        Component.CONTROLLER,
        "",
        "",
        "the pod mutator ignores enable-prometheus-scraping: no prometheus.io/scrape|port|path on the pods",
    )
    # KServe's controller manager: its webhooks and its pod.
    WEBHOOK_ADMITS_INVALID = (
        "webhook-admits-invalid",
        Component.CONTROLLER,
        "",
        "",
        "KServe's validating webhook admits every InferenceService, however invalid",
    )
    WEBHOOK_NO_DEFAULTS = (
        "webhook-no-defaults",
        Component.CONTROLLER,
        "",
        "",
        "KServe's defaulting webhook writes nothing (a legacy sklearn predictor stays as sent)",
    )
    CONTROLLER_NOT_READY = (
        "controller-not-ready",
        Component.CONTROLLER,
        "",
        "",
        "the kserve-controller-manager pod is Running but not Ready (its readiness probe fails)",
    )
    # The API server: admission.
    PRUNE_SPEC = (
        "prune-spec",
        Component.API_SERVER,
        "",
        "",
        "the API server drops spec.predictor.model.storageUri, as an outdated CRD would prune it",
    )
    FORBID_CREATE = ("forbid-create", Component.API_SERVER, "", "", "RBAC forbids creating InferenceServices")
    NO_KSERVE = (
        "no-kserve",
        Component.API_SERVER,
        "",
        "",
        "a plain Kubernetes cluster: the InferenceService CRD is not installed",
    )
    NO_LLMISVC = (
        "no-llmisvc",
        Component.API_SERVER,
        "",
        "",
        "KServe without its optional LLMInferenceService: neither its CRDs nor its presets and Gateway are installed",
    )
    # The model server: predictions and readiness.
    WRONG_PREDICTION = ("wrong-prediction", Component.MODEL_SERVER, "", "", "every predicted class is off by one")
    MODEL_NOT_READY = (
        "model-not-ready",
        Component.MODEL_SERVER,
        "",
        "",
        "the model endpoint reports not ready while the service is Ready",
    )
    SERVER_ERROR = ("server-error", Component.MODEL_SERVER, "", "", "predict and infer answer HTTP 500")
    METRICS_UNDERCOUNT = (
        "metrics-undercount",
        Component.MODEL_SERVER,
        "",
        "",
        "request_predict_seconds misses every 5th prediction",
    )
    METRICS_REQUEST_ID_LABEL = (
        "metrics-request-id-label",
        Component.MODEL_SERVER,
        "",
        "",
        "request_predict_seconds carries a request_id label, a new series per request",
    )
    METRICS_MISSING_SERIES = (
        "metrics-missing-series",
        Component.MODEL_SERVER,
        "",
        "",
        "the documented request_preprocess_seconds is not exported",
    )
    METRICS_TOKEN_UNDERCOUNT = (
        "metrics-token-undercount",
        Component.MODEL_SERVER,
        "",
        "",
        "vLLM's vllm:generation_tokens_total misses a token per engine step",
    )
    METRICS_COARSE_BUCKETS = (
        "metrics-coarse-buckets",
        Component.MODEL_SERVER,
        "",
        "",
        "request_predict_seconds has one bucket bound, 10 s",
    )
    # The gateway: routing, errors, latency, response bodies.
    LLMISVC_WEIGHTS_IGNORED = (
        "llmisvc-weights-ignored",
        Component.GATEWAY,
        "",
        "",
        "the gateway ignores HTTPRoute backendRefs' weights and splits an LLMInferenceService routing group's "
        "traffic evenly among its members",
    )
    LLMISVC_HEADER_MATCH_IGNORED = (
        "llmisvc-header-match-ignored",
        Component.GATEWAY,
        "",
        "",
        "the gateway ignores HTTPRoute header matches: a request whose X-Gateway-Model-Name names no served "
        "model (or that has none) is routed as if it named the model",
    )
    LLMISVC_PICKER_PREFIX_BLIND = (
        "llmisvc-picker-prefix-blind",
        Component.GATEWAY,
        "",
        "",
        "the endpoint picker ignores prompt prefixes and the pods' load: it hands an InferencePool's requests "
        "to its endpoints in turn (round robin)",
    )
    INGRESS_404 = (
        "ingress-404",
        Component.GATEWAY,
        "",
        "",
        "the gateway answers 404 for the service's own Host header",
    )
    EVERY_502 = (
        "502-every",
        Component.GATEWAY,
        "N",
        "",
        "every N-th request through the gateway answers 502 (502-every=N)",
    )
    DELAY_EVERY = (
        "delay-every",
        Component.GATEWAY,
        "N:MS",
        "",
        "every N-th request is delayed by MS milliseconds (delay-every=N:MS)",
    )
    NO_ID_ECHO = ("no-id-echo", Component.GATEWAY, "", "", "V2 infer responses drop the request id")
    WRONG_MODEL_NAME = ("wrong-model-name", Component.GATEWAY, "", "", "V2 infer responses carry another model_name")
    SHAPE_MISMATCH = (
        "shape-mismatch",
        Component.GATEWAY,
        "",
        "",
        "V2 output tensors claim a shape their data does not have",
    )
    MISSING_ERROR_BODY = (
        "missing-error-body",
        Component.GATEWAY,
        "",
        "",
        'error responses have an empty body instead of {"error": ...}',
    )
    READY_LIES = (
        "ready-lies",
        Component.GATEWAY,
        "",
        "",
        "V2 model ready answers 200 even for a model that does not exist",
    )
    NOT_LIVE = ("not-live", Component.GATEWAY, "", "", "V2 server live answers 503")
    NOT_READY = ("not-ready", Component.GATEWAY, "", "", "V2 server ready answers 503")
    HEALTH_BODY_FALSE = (
        "health-body-false",
        Component.GATEWAY,
        "",
        "",
        "V2 health endpoints answer 200 with a body that says false",
    )
    METADATA_NO_EXTENSIONS = (
        "metadata-no-extensions",
        Component.GATEWAY,
        "",
        "",
        'V2 server metadata lacks the required "extensions"',
    )
    METADATA_WRONG_NAME = ("metadata-wrong-name", Component.GATEWAY, "", "", "V2 model metadata names another model")
    BATCH_NOT_FIRST = (
        "batch-not-first",
        Component.GATEWAY,
        "",
        "",
        "V2 output tensors put a dimension of 1 before the batch",
    )
    ERROR_AS_200 = (
        "error-as-200",
        Component.GATEWAY,
        "",
        "",
        "V2 inference errors are answered 200, with the error body",
    )
    ERROR_BODY_TEXT = (
        "error-body-text",
        Component.GATEWAY,
        "",
        "",
        'V2 inference errors carry a text/plain traceback instead of {"error": ...}',
    )
    BAD_INPUT_500 = ("bad-input-500", Component.GATEWAY, "", "", "V2 inference errors for bad input are answered 500")
    LISTS_VERSION = (
        "lists-version",
        Component.GATEWAY,
        "",
        "",
        "V2 model metadata lists version v1, whose versioned infer path answers 404",
    )
    BINARY_ADVERTISED_BROKEN = (
        "binary-advertised-broken",
        Component.GATEWAY,
        "",
        "",
        "GET /v2 lists binary_tensor_data, but binary requests answer 500",
    )
    FORM_BODY_415 = (
        "form-body-415",
        Component.GATEWAY,
        "",
        "",
        "V1 predict refuses a JSON body sent with curl's form content type (415)",
    )
    CANARY_IGNORED = (
        "canary-ignored",
        Component.GATEWAY,
        "",
        "",
        "the status shows the canary split, but every request goes to the latest revision",
    )
    ROLLBACK_IGNORED = (
        "rollback-ignored",
        Component.GATEWAY,
        "",
        "",
        "the status shows a rollback (canaryTrafficPercent: 0), but requests still go to the latest revision",
    )
    BUFFER_STREAMS = (
        "buffer-streams",
        Component.GATEWAY,
        "",
        "",
        "the gateway buffers a streamed response (server-sent events) and sends it whole at the end",
    )
    ROLLOUT_DROPS = (
        "rollout-drops",
        Component.GATEWAY,
        "",
        "",
        "for 2 s after a host's traffic split changes, its requests are answered 503",
    )

    @property
    def label(self) -> str:
        """The name users type (``--fault never-ready``)."""
        return str(self.value)


# A set of faults as the target runs with them: each fault and its parameter ("" if it takes none).
Faults = Mapping[Fault, str]
# name -> description, for readers of the catalogue (``--list-faults``, the self-tests).
ALL: dict[str, str] = {f.label: f.description for f in Fault}


def of(component: Component) -> dict[str, str]:
    """The catalogue of one component's faults, name -> description."""
    return {f.label: f.description for f in Fault if f.component is component}


CONTROLLER = of(Component.CONTROLLER)
API_SERVER = of(Component.API_SERVER)
MODEL_SERVER = of(Component.MODEL_SERVER)
GATEWAY = of(Component.GATEWAY)


class FaultError(ValueError):
    """A ``--fault`` the target does not know, or whose parameter is missing or malformed."""


_BY_NAME: dict[str, Fault] = {f.label: f for f in Fault}


def named(name: str) -> Fault:
    """The fault users call ``name``; ``KeyError`` if there is none."""
    return _BY_NAME[name]


def parse(specs: Iterable[str]) -> dict[Fault, str]:
    """``name`` or ``name=value`` entries into faults; an unknown name or a missing parameter is refused."""
    faults: dict[Fault, str] = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        try:
            fault = named(name)
        except KeyError:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(ALL))}") from None
        value = value or fault.default
        if fault.param and not value:
            raise FaultError(f"fault {name!r} takes a parameter: {name}={fault.param}")
        _check_param(fault, value)
        faults[fault] = value
    return faults


def _check_param(fault: Fault, value: str) -> None:
    """The numeric parameters are checked at start-up, not on the request that first needs them."""
    numbers = {"N": 1, "N:MS": 2}.get(fault.param)
    if numbers is None:
        return
    parts = value.split(":")
    try:
        ok = len(parts) == numbers and int(parts[0]) > 0 and all(float(p) >= 0 for p in parts)
    except ValueError:
        ok = False
    if not ok:
        raise FaultError(f"fault {fault.label}={value}: expected {fault.label}={fault.param} with numbers")


def listing() -> str:
    """One line per fault: name (with its parameter), component, description."""
    width = max(len(f.label) + len(f.param) + 1 for f in Fault)
    lines = []
    for f in Fault:
        name = f"{f.label}={f.param}" if f.param else f.label
        lines.append(f"{name:<{width}}  {f.component.value:<17}  {f.description}")
    return "\n".join(lines)
