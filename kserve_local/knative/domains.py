"""A Knative Route's host: ``config-domain`` picks the domain, ``config-network`` the template.

Knative Serving reads both ConfigMaps in ``knative-serving``. ``config-domain``'s keys are domains
and each value is an optional label selector (YAML ``selector: {key: value}``); a Route takes the
domain whose selector matches its labels with the most keys, else the one with an empty value,
else Knative's built-in ``svc.cluster.local``. Keys starting with ``_`` (``_example``) are
documentation. ``config-network``'s ``domain-template`` (Go template over ``Name``, ``Namespace``,
``Domain``, ``Annotations``, ``Labels``) makes the host, ``{{.Name}}.{{.Namespace}}.{{.Domain}}``
by default.

Imports only :mod:`kserve_local.gotemplate`; the callers read the ConfigMaps from their store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from kserve_local.gotemplate import render

DEFAULT_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
DEFAULT_DOMAIN = "svc.cluster.local"  # Knative's when config-domain names none for a Route


@dataclass(frozen=True)
class DomainConfig:
    """What Knative's two ConfigMaps say about Route hosts."""

    domains: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (domain, selector) in ConfigMap order
    template: str = DEFAULT_TEMPLATE

    @classmethod
    def of(cls, config_domain: Mapping[str, str] | None, config_network: Mapping[str, str] | None) -> DomainConfig:
        domains = []
        for domain, value in (config_domain or {}).items():
            if domain.startswith("_"):
                continue
            doc = yaml.safe_load(value) if value and value.strip() else None
            selector = doc.get("selector") if isinstance(doc, dict) else None
            pairs = tuple(sorted((str(k), str(v)) for k, v in selector.items())) if isinstance(selector, dict) else ()
            domains.append((domain, pairs))
        network = config_network or {}
        template = network.get("domain-template") or network.get("domainTemplate") or DEFAULT_TEMPLATE
        return cls(tuple(domains), template)

    def domain_for(self, labels: Mapping[str, str]) -> str:
        best: tuple[int, str] | None = None
        for domain, selector in self.domains:
            if all(labels.get(k) == v for k, v in selector) and (best is None or len(selector) > best[0]):
                best = (len(selector), domain)
        return best[1] if best is not None else DEFAULT_DOMAIN

    def host(self, route: str, namespace: str, annotations: Mapping[str, str], labels: Mapping[str, str]) -> str:
        """The host Knative gives the Route ``route`` in ``namespace``."""
        return render(
            self.template,
            {
                "Name": route,
                "Namespace": namespace,
                "Domain": self.domain_for(labels),
                "Annotations": dict(annotations),
                "Labels": dict(labels),
            },
        )
