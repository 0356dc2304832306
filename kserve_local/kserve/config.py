"""What KServe's controller reads from the cluster: ``inferenceservice-config`` and the deployment mode.

KServe keeps its settings in the ``kserve/inferenceservice-config`` ConfigMap, one JSON document
per key; the controller re-reads it on each reconcile, so an edit takes effect on the next one.
Of ``ingress`` the URLs need ``ingressDomain``, ``domainTemplate``, ``urlScheme`` and
``pathTemplate``; of ``deploy``, ``defaultDeploymentMode``. Knative's own ConfigMaps
(``config-domain``, ``config-network``) decide the hosts in Knative mode
(:mod:`kserve_local.knative.domains`). Each missing value takes KServe's (or Knative's) default.

May import :mod:`kserve_local.apiserver` (to read the store) and :mod:`kserve_local.knative.domains`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kserve_local.apiserver.resources import RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.knative.domains import DomainConfig

CONFIGMAPS = next(r for r in RESOURCES if r.plural == "configmaps")
KSERVE_NAMESPACE, KNATIVE_NAMESPACE = "kserve", "knative-serving"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
DEFAULT_INGRESS_DOMAIN = "example.com"
DEFAULT_DOMAIN_TEMPLATE = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"


class Mode(enum.Enum):
    """A deployment mode; KServe 0.20 renamed Serverless to Knative and RawDeployment to Standard."""

    KNATIVE = "Knative"
    STANDARD = "Standard"

    @classmethod
    def parse(cls, text: str) -> Mode:
        """Either name of either mode, in any case (annotations and old installs carry the old names)."""
        names = {
            "knative": cls.KNATIVE,
            "serverless": cls.KNATIVE,
            "standard": cls.STANDARD,
            "rawdeployment": cls.STANDARD,
        }
        mode = names.get(text.strip().lower())
        if mode is None:
            raise ValueError(
                f"unknown deployment mode {text!r}; expected Knative (Serverless) or Standard (RawDeployment)"
            )
        return mode

    @property
    def other(self) -> Mode:
        return Mode.STANDARD if self is Mode.KNATIVE else Mode.KNATIVE


@dataclass(frozen=True)
class Settings:
    """The cluster's URL and mode settings, as the controller read them for one reconcile."""

    default_mode: Mode = Mode.KNATIVE
    ingress_domain: str = DEFAULT_INGRESS_DOMAIN
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    url_scheme: str = "http"
    path_template: str = ""
    knative: DomainConfig = field(default_factory=DomainConfig)
    # metricsAggregator: the pod mutator's defaults for metric aggregation and Prometheus scraping
    metrics_aggregator: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        isvc_config: Mapping[str, str] | None,
        config_domain: Mapping[str, str] | None = None,
        config_network: Mapping[str, str] | None = None,
    ) -> Settings:
        ingress = _json(isvc_config, "ingress")
        deploy = _json(isvc_config, "deploy")
        mode = deploy.get("defaultDeploymentMode")
        return cls(
            default_mode=Mode.parse(mode) if isinstance(mode, str) and mode else Mode.KNATIVE,
            ingress_domain=str(ingress.get("ingressDomain") or DEFAULT_INGRESS_DOMAIN),
            domain_template=str(ingress.get("domainTemplate") or DEFAULT_DOMAIN_TEMPLATE),
            url_scheme=str(ingress.get("urlScheme") or "http"),
            path_template=str(ingress.get("pathTemplate") or ""),
            knative=DomainConfig.of(config_domain, config_network),
            metrics_aggregator=tuple((k, str(v)) for k, v in _json(isvc_config, "metricsAggregator").items()),
        )

    @classmethod
    def read(cls, store: Store) -> Settings:
        """From the ConfigMaps in the store, now."""

        def data(namespace: str, name: str) -> dict[str, str] | None:
            obj = store.find(CONFIGMAPS, namespace, name)
            return obj.get("data") if obj else None

        return cls.of(
            data(KSERVE_NAMESPACE, "inferenceservice-config"),
            data(KNATIVE_NAMESPACE, "config-domain"),
            data(KNATIVE_NAMESPACE, "config-network"),
        )

    def mode_of(self, annotations: Mapping[str, str] | None) -> Mode:
        """The mode an InferenceService runs in: its annotation, else the cluster default."""
        chosen = (annotations or {}).get(MODE_ANNOTATION)
        return Mode.parse(chosen) if chosen else self.default_mode


def _json(config: Mapping[str, str] | None, key: str) -> dict[str, Any]:
    text = (config or {}).get(key)
    if not text:
        return {}
    doc = json.loads(text)
    return doc if isinstance(doc, dict) else {}
