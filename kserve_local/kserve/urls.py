"""The URLs KServe's controller writes into an InferenceService's status, from the cluster's settings.

* Knative mode: KServe creates the Knative Service ``NAME-predictor``; Knative's Route gives it a
  host from ``config-network``/``config-domain`` (:mod:`kserve_local.knative.domains`), which is
  ``status.components.predictor.url``. The service's own host (``status.url``) is that host with
  the predictor's name replaced by the service's, once, as KServe's ingress reconciler derives
  it; the in-cluster address is the service's cluster-local name.
* Standard mode: KServe's ``GenerateDomainName`` renders ``ingress.domainTemplate`` over the
  name, namespace, ``ingressDomain``, annotations and labels (the predictor's host with the name
  ``NAME-predictor``). With ``ingress.pathTemplate`` set, the service is reached on the ingress
  domain itself, under the path the template renders over the name and namespace.

``urlScheme`` is the scheme of the external URLs; in-cluster addresses are always ``http``.
Written from KServe's documented behaviour, with its own template engine
(:mod:`kserve_local.gotemplate`), so that the suite's StatusURL check has an independent oracle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kserve_local.gotemplate import render
from kserve_local.kserve.config import Mode, Settings

CLUSTER_DOMAIN = "svc.cluster.local"


@dataclass(frozen=True)
class Urls:
    """Where one InferenceService is reached, as its status says and the gateway routes."""

    url: str  # status.url
    address: str  # status.address.url
    host: str  # the Host header the gateway routes to the service
    predictor_host: str  # status.components.predictor.url's host, also routed
    scheme: str
    path_prefix: str = ""  # path-based routing: the prefix the gateway strips

    @property
    def predictor_url(self) -> str:
        return f"{self.scheme}://{self.predictor_host}"


def _scheme(settings: Settings) -> str:
    return "https" if settings.url_scheme == "https" else "http"


def predictor_name(name: str) -> str:
    return f"{name}-predictor"


def for_service(
    name: str,
    namespace: str,
    mode: Mode,
    settings: Settings,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Urls:
    annotations, labels = dict(annotations or {}), dict(labels or {})
    scheme = _scheme(settings)
    predictor = predictor_name(name)
    if mode is Mode.KNATIVE:
        predictor_host = settings.knative.host(predictor, namespace, annotations, labels)
        host = predictor_host.replace(predictor, name, 1)
        return Urls(
            url=f"{settings.url_scheme or 'http'}://{host}",
            address=f"http://{name}.{namespace}.{CLUSTER_DOMAIN}",
            host=host,
            predictor_host=predictor_host,
            scheme=scheme,
        )

    def domain_name(who: str) -> str:  # KServe's GenerateDomainName
        return render(
            settings.domain_template,
            {
                "Name": who,
                "Namespace": namespace,
                "IngressDomain": settings.ingress_domain,
                "Annotations": annotations,
                "Labels": labels,
            },
        )

    address = f"http://{predictor}.{namespace}.{CLUSTER_DOMAIN}"
    if settings.path_template:
        path = render(settings.path_template, {"Name": name, "Namespace": namespace}).rstrip("/")
        path = path if path.startswith("/") else "/" + path
        host = settings.ingress_domain
        return Urls(
            url=f"{settings.url_scheme or 'http'}://{host}{path}",
            address=address,
            host=host,
            predictor_host=domain_name(predictor),
            scheme=scheme,
            path_prefix=path,
        )
    host = domain_name(name)
    return Urls(
        url=f"{settings.url_scheme or 'http'}://{host}",
        address=address,
        host=host,
        predictor_host=domain_name(predictor),
        scheme=scheme,
    )
