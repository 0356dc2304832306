"""The resource types the local target serves, and the admission checks it applies to them.

InferenceServices are checked the way a KServe cluster checks them: the API server validates the
body against the CRD's ``openAPIV3Schema`` and requires a DNS-1123 subdomain name, as it does for
every custom resource; KServe's own rules (a DNS-1035 name, ...) are its admission webhooks'
(``kserve_local/kserve/webhooks.py``). The
real CRD is large and versioned with KServe, so it is not shipped: ``--crd FILE`` points the
target at one (the self-tests use the upstream copy); without it a small structural schema of
our own (``data/inferenceservice-schema.yaml``) covers what the walk-through relies on.
"""

from __future__ import annotations

import dataclasses
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kserve_local.apiserver.store import NAMESPACES, ApiError, Obj, Resource
from kserve_local.llmisvc import conversion

SERVING = "serving.kserve.io"
INFERENCESERVICES = Resource(
    SERVING,
    "v1beta1",
    "inferenceservices",
    "InferenceService",
    namespaced=True,
    status_subresource=True,
    short_names=("isvc",),
)
# KEDA's ScaledObject: KServe writes one per predictor with autoscalerClass keda (Standard mode),
# the KEDA stand-in (kserve_local/keda) reads it and writes its status.
SCALEDOBJECTS = Resource(
    "keda.sh",
    "v1alpha1",
    "scaledobjects",
    "ScaledObject",
    namespaced=True,
    status_subresource=True,
    short_names=("so",),
)
# KServe's LLMInferenceService and its configs: v1alpha2 stored, v1alpha1 served converted
# (kserve_local/llmisvc/conversion.py); what their router needs, the Gateway API's routes and
# classes and the Inference Extension's pools (the Gateway itself is below, with the ingress).
LLMINFERENCESERVICES = Resource(
    SERVING,
    "v1alpha2",
    "llminferenceservices",
    "LLMInferenceService",
    namespaced=True,
    status_subresource=True,
    short_names=("llmisvc",),
)
LLMINFERENCESERVICECONFIGS = Resource(
    SERVING, "v1alpha2", "llminferenceserviceconfigs", "LLMInferenceServiceConfig", True, True
)
GATEWAY_API = "gateway.networking.k8s.io"
GATEWAYCLASSES = Resource(GATEWAY_API, "v1", "gatewayclasses", "GatewayClass", False, True, ("gc",))
HTTPROUTES = Resource(GATEWAY_API, "v1", "httproutes", "HTTPRoute", namespaced=True, status_subresource=True)
INFERENCEPOOLS = Resource(
    "inference.networking.k8s.io", "v1", "inferencepools", "InferencePool", True, True, ("infpool",)
)
# Views of a stored resource in another served version: view -> (stored, to view, to stored).
CONVERTED = {
    dataclasses.replace(LLMINFERENCESERVICES, version="v1alpha1"): (
        LLMINFERENCESERVICES,
        conversion.to_v1alpha1,
        conversion.to_v1alpha2,
    ),
    dataclasses.replace(LLMINFERENCESERVICECONFIGS, version="v1alpha1"): (
        LLMINFERENCESERVICECONFIGS,
        conversion.to_v1alpha1,
        conversion.to_v1alpha2,
    ),
}
# The ServiceAccount controller creates "default" in each namespace (kserve_local/serviceaccounts.py).
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", namespaced=True, short_names=("sa",))
RESOURCES = (
    NAMESPACES,
    SERVICEACCOUNTS,
    Resource("", "v1", "pods", "Pod", namespaced=True, status_subresource=True, short_names=("po",)),
    Resource("", "v1", "events", "Event", namespaced=True, short_names=("ev",)),
    Resource("", "v1", "configmaps", "ConfigMap", namespaced=True, short_names=("cm",)),
    Resource("", "v1", "services", "Service", namespaced=True, status_subresource=True, short_names=("svc",)),
    Resource("", "v1", "endpoints", "Endpoints", namespaced=True, short_names=("ep",)),
    Resource("", "v1", "nodes", "Node", namespaced=False, status_subresource=True, short_names=("no",)),
    Resource(
        GATEWAY_API,
        "v1",
        "gateways",
        "Gateway",
        namespaced=True,
        status_subresource=True,
        short_names=("gtw",),
    ),
    Resource(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        status_subresource=True,
        short_names=("crd",),
    ),
    INFERENCESERVICES,
    Resource(SERVING, "v1alpha1", "servingruntimes", "ServingRuntime", namespaced=True),
    Resource(SERVING, "v1alpha1", "clusterservingruntimes", "ClusterServingRuntime", namespaced=False),
    # What KServe's install adds besides its CRDs: the controller's Deployment, its webhook configurations.
    Resource(
        "apps", "v1", "deployments", "Deployment", namespaced=True, status_subresource=True, short_names=("deploy",)
    ),
    Resource(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    Resource(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
    ),
    SCALEDOBJECTS,
    LLMINFERENCESERVICES,
    LLMINFERENCESERVICECONFIGS,
    GATEWAYCLASSES,
    HTTPROUTES,
    INFERENCEPOOLS,
)
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}

DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = rf"{DNS1123_LABEL}(\.{DNS1123_LABEL})*"
BUILTIN_SCHEMA = Path(__file__).parent / "data" / "inferenceservice-schema.yaml"
BUILTIN_PRINTER_COLUMNS = Path(__file__).parent / "data" / "inferenceservice-printer-columns.yaml"


def load_schema(crd_file: Path | None) -> dict[str, Any]:
    """The v1beta1 ``openAPIV3Schema`` of the given CRD file, or the built-in structural one."""
    if crd_file is None:
        builtin: dict[str, Any] = yaml.load(BUILTIN_SCHEMA.read_text(), Loader=yaml.CSafeLoader)
        return builtin
    crd = yaml.load(crd_file.read_text(), Loader=yaml.CSafeLoader)
    for version in crd["spec"]["versions"]:
        if version["name"] == INFERENCESERVICES.version:
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise ValueError(f"{crd_file} has no {INFERENCESERVICES.version} version")


def load_printer_columns(crd_file: Path | None) -> list[dict[str, Any]]:
    """The v1beta1 ``additionalPrinterColumns`` (``kubectl get isvc``'s URL, READY, ...) of the CRD."""
    if crd_file is None:
        builtin: list[dict[str, Any]] = yaml.safe_load(BUILTIN_PRINTER_COLUMNS.read_text())
        return builtin
    crd = yaml.load(crd_file.read_text(), Loader=yaml.CSafeLoader)
    for version in crd["spec"]["versions"]:
        if version["name"] == INFERENCESERVICES.version:
            columns: list[dict[str, Any]] = version.get("additionalPrinterColumns", [])
            return columns
    raise ValueError(f"{crd_file} has no {INFERENCESERVICES.version} version")


def isvc_validator(schema: dict[str, Any]) -> Any:
    validator = jsonschema.Draft7Validator(schema)

    def validate(obj: Obj) -> None:
        name = obj.get("metadata", {}).get("name", "")
        problems = []
        if not re.fullmatch(DNS1123_SUBDOMAIN, name) or len(name) > 253:
            problems.append(
                f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower '
                "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                f"character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN}')"
            )
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in error.absolute_path) or "<root>"
            problems.append(f"{path}: Invalid value: {error.message}")
        if problems:
            raise ApiError(
                422, "Invalid", f'{INFERENCESERVICES.kind}.{SERVING} "{name}" is invalid: ' + "; ".join(problems)
            )

    return validate


def crd_object(resource: Resource, schema: dict[str, Any], printer_columns: list[dict[str, Any]] | None = None) -> Obj:
    """A CustomResourceDefinition object, so clusters' "is KServe installed" probe works here too."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": resource.key,
            # What a KServe release labels its CRDs with; here, the model servers' kserve.
            "labels": {"app.kubernetes.io/version": f"v{metadata.version('kserve')}"},
        },
        "spec": {
            "group": resource.group,
            "scope": "Namespaced" if resource.namespaced else "Cluster",
            "names": {"plural": resource.plural, "kind": resource.kind, "shortNames": list(resource.short_names)},
            "versions": [
                {
                    "name": resource.version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}} if resource.status_subresource else {},
                    "additionalPrinterColumns": printer_columns or [],
                }
            ],
        },
    }
