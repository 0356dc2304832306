"""Cluster facts, read rather than assumed: they decide which URLs and checks apply.

Every provider ends here: the same probes run against the local target, a kind cluster and a
vendor's install, and the result is written into the report so a reader can see what the
verdicts were judged against.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from kserve_conformance.cluster.kube import json_object
from kserve_conformance.cluster.urls import (
    KNATIVE_DEFAULT_DOMAIN,
    KNATIVE_DEFAULT_TEMPLATE,
    KSERVE_DEFAULT_TEMPLATE,
    IngressConfig,
    normalize_mode,
)
from kserve_conformance.errors import SetupError

ISVC_CRD = "inferenceservices.serving.kserve.io"
CONFIGMAP = "inferenceservice-config"


@dataclass(frozen=True)
class Runtime:
    name: str
    kind: str
    formats: tuple[str, ...]
    protocols: tuple[str, ...]


@dataclass(frozen=True)
class ClusterFacts:
    kubernetes_version: str
    kserve_version: str
    ingress: IngressConfig
    runtimes: tuple[Runtime, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # knative-serving/config-autoscaler's enable-scale-to-zero; None where it cannot be read (no
    # Knative, or not allowed), and Knative's default then is true.
    scale_to_zero: bool | None = None
    # inferenceservice-config's metricsAggregator.enablePrometheusScraping: whether KServe's pod
    # mutator annotates pods for Prometheus when an InferenceService does not say (KServe: "false").
    prometheus_scraping: bool = False

    def as_report(self) -> dict[str, Any]:
        data = asdict(self)
        data["ingress"].pop("raw", None)
        return data


def unreachable(api: client.ApiClient, err: Exception) -> SetupError:
    host = api.configuration.host
    return SetupError(
        f"cannot reach the Kubernetes API at {host} ({type(err).__name__})",
        "check KUBECONFIG / --kserve-kube-context and that the cluster is running",
    )


def read_facts(api: client.ApiClient, kserve_namespace: str = "kserve") -> ClusterFacts:
    """Probe the cluster: Kubernetes version, KServe CRD, configuration, serving runtimes."""
    try:
        version = client.VersionApi(api).get_code().git_version
    except (HTTPError, OSError) as err:
        raise unreachable(api, err) from err
    except ApiException as err:
        raise SetupError(
            f"the Kubernetes API at {api.configuration.host} refused /version ({err.status})",
            "check your credentials in the kubeconfig",
        ) from err
    ext = client.ApiextensionsV1Api(api)
    try:
        crd = ext.read_custom_resource_definition(ISVC_CRD)
    except ApiException as err:
        if err.status == 404:
            raise SetupError(
                f"KServe is not installed: CRD {ISVC_CRD} not found",
                "install KServe, or run with --kserve-cluster=kind to get a cluster with KServe",
            ) from err
        if err.status == 403:
            raise SetupError(
                f"forbidden to read CRD {ISVC_CRD}", "grant get on customresourcedefinitions to this user"
            ) from err
        raise
    meta = crd.metadata
    assert meta is not None  # a CRD read from the server has its metadata
    kserve_version = (meta.labels or {}).get("app.kubernetes.io/version") or (meta.annotations or {}).get(
        "serving.kserve.io/version", "unknown"
    )
    core = client.CoreV1Api(api)
    notes: list[str] = []
    data = _configmap(core, kserve_namespace, CONFIGMAP)
    if data is None:
        notes.append(f"ConfigMap {kserve_namespace}/{CONFIGMAP} not readable; KServe defaults assumed")
        data = {}
    ingress = json.loads(data.get("ingress", "{}") or "{}")
    deploy = json.loads(data.get("deploy", "{}") or "{}")
    domain, template = KNATIVE_DEFAULT_DOMAIN, KNATIVE_DEFAULT_TEMPLATE
    knative_domain = _configmap(core, "knative-serving", "config-domain")
    if knative_domain:
        # The default domain is the key with an empty selector; "_example" is documentation only.
        defaults = [k for k, v in knative_domain.items() if not k.startswith("_") and not (v or "").strip()]
        domain = defaults[0] if defaults else domain
    network = _configmap(core, "knative-serving", "config-network") or {}
    template = network.get("domain-template") or network.get("domainTemplate") or template
    config = IngressConfig(
        default_mode=normalize_mode(deploy.get("defaultDeploymentMode", "Knative")),
        ingress_domain=ingress.get("ingressDomain", "example.com"),
        domain_template=ingress.get("domainTemplate", KSERVE_DEFAULT_TEMPLATE),
        url_scheme=ingress.get("urlScheme", "http"),
        path_template=ingress.get("pathTemplate", ""),
        knative_domain=domain,
        knative_template=template,
        raw=ingress,
    )
    return ClusterFacts(
        kubernetes_version=version,
        kserve_version=kserve_version,
        ingress=config,
        runtimes=tuple(_runtimes(api)),
        notes=tuple(notes),
        scale_to_zero=_scale_to_zero(core),
        prometheus_scraping=_json_setting(data, "metricsAggregator", "enablePrometheusScraping") == "true",
    )


def _json_setting(data: dict[str, str], key: str, setting: str) -> str | None:
    """One setting of a JSON-valued ConfigMap key, as a string; None where it is absent or unreadable."""
    try:
        value = json.loads(data.get(key, "{}") or "{}").get(setting)
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value).lower()


def _scale_to_zero(core: client.CoreV1Api) -> bool | None:
    autoscaler = _configmap(core, "knative-serving", "config-autoscaler")
    if autoscaler is None:
        return None
    return autoscaler.get("enable-scale-to-zero", "true").strip().lower() != "false"


def _configmap(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, str] | None:
    try:
        return core.read_namespaced_config_map(name, namespace).data or {}
    except ApiException as err:
        if err.status in (403, 404):
            return None
        raise


def _runtimes(api: client.ApiClient) -> list[Runtime]:
    custom = client.CustomObjectsApi(api)
    found: list[Runtime] = []
    for plural, kind in (("clusterservingruntimes", "ClusterServingRuntime"),):
        try:
            items = json_object(custom.list_cluster_custom_object("serving.kserve.io", "v1alpha1", plural))["items"]
        except ApiException:
            continue
        for item in items:
            spec = item.get("spec", {})
            found.append(
                Runtime(
                    item["metadata"]["name"],
                    kind,
                    tuple(f["name"] for f in spec.get("supportedModelFormats", [])),
                    # None listed: KServe takes the runtime to support every protocol, not only v1.
                    tuple(spec.get("protocolVersions") or ()),
                )
            )
    return found
