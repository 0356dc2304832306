"""Where an InferenceService should be reachable, from the cluster's own configuration.

A Host header for one deployment mode sent to the other is a classic user error
(kserve/kserve#3956), so the URL checks never assume a format: they render the templates the
cluster is configured with. Knative mode takes its host from Knative's ``config-network``
domain template and ``config-domain``; Standard mode from KServe's ``ingress.domainTemplate``,
or from ``ingress.pathTemplate`` when path-based routing is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KNATIVE = "Knative"
STANDARD = "Standard"
# KServe v0.20 renamed the modes; clusters and annotations may still carry the old names.
MODE_ALIASES = {"serverless": KNATIVE, "knative": KNATIVE, "rawdeployment": STANDARD, "standard": STANDARD}

KNATIVE_DEFAULT_DOMAIN = "example.com"
KNATIVE_DEFAULT_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
KSERVE_DEFAULT_TEMPLATE = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")


class TemplateError(ValueError):
    """A domain or path template uses Go template features this suite does not render."""


def normalize_mode(mode: str) -> str:
    try:
        return MODE_ALIASES[mode.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown deployment mode {mode!r}; expected Knative (Serverless) or Standard (RawDeployment)"
        ) from None


def render(template: str, values: Mapping[str, Any]) -> str:
    """Render the subset of Go templates KServe and Knative document: ``{{ .Field }}``,
    ``{{ .Annotations.key }}`` and ``{{ index .Labels "key" }}``."""

    def lookup(match: re.Match[str]) -> str:
        expr = match.group(1)
        index = re.fullmatch(r'index\s+\.(\w+)\s+"([^"]*)"', expr)
        path = [index.group(1), index.group(2)] if index else None
        if path is None and re.fullmatch(r"\.[\w.]+", expr):
            path = expr[1:].split(".", 1) if expr.count(".") > 1 else [expr[1:]]
        if path is None:
            raise TemplateError(f"unsupported template action {{{{ {expr} }}}} in {template!r}")
        value: Any = values
        for part in path:
            if not isinstance(value, Mapping) or part not in value:
                raise TemplateError(f"template {template!r} refers to unknown field .{'.'.join(path)}")
            value = value[part]
        return str(value)

    return _ACTION.sub(lookup, template)


@dataclass(frozen=True)
class IngressConfig:
    """The parts of ``inferenceservice-config`` (and Knative's config) that decide URLs."""

    default_mode: str = KNATIVE
    ingress_domain: str = "example.com"
    domain_template: str = KSERVE_DEFAULT_TEMPLATE
    url_scheme: str = "http"
    path_template: str = ""
    knative_domain: str = KNATIVE_DEFAULT_DOMAIN
    knative_template: str = KNATIVE_DEFAULT_TEMPLATE
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ServiceURLs:
    """Expected ``status.url`` and ``status.address.url`` for one InferenceService."""

    url: str
    address_url: str
    host: str
    path_prefix: str = ""


def expected_urls(
    name: str,
    namespace: str,
    mode: str,
    config: IngressConfig,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> ServiceURLs:
    values = {
        "Name": name,
        "Namespace": namespace,
        "IngressDomain": config.ingress_domain,
        "Domain": config.knative_domain,
        "Annotations": dict(annotations or {}),
        "Labels": dict(labels or {}),
    }
    scheme = config.url_scheme or "http"
    if normalize_mode(mode) == KNATIVE:
        host = render(config.knative_template, values)
        return ServiceURLs(f"{scheme}://{host}", f"http://{name}.{namespace}.svc.cluster.local", host)
    address = f"http://{name}-predictor.{namespace}.svc.cluster.local"
    if config.path_template:
        path = "/" + render(config.path_template, values).strip("/")
        return ServiceURLs(f"{scheme}://{config.ingress_domain}{path}", address, config.ingress_domain, path)
    host = render(config.domain_template, values)
    return ServiceURLs(f"{scheme}://{host}", address, host)


def service_mode(annotations: Mapping[str, str] | None, config: IngressConfig) -> str:
    """The mode an InferenceService runs in: its annotation, else the cluster default."""
    return normalize_mode((annotations or {}).get(MODE_ANNOTATION) or config.default_mode)
