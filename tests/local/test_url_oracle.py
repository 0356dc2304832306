"""The URLs the local target writes, computed by its own code from the ConfigMaps in its store.

The expected strings are written out by hand from KServe's and Knative's documented behaviour,
not computed with the suite's ``kserve_conformance.urls``: the target is an independent oracle
for the StatusURL check only if the two are not the same code.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from kserve_local.apiserver.resources import BY_KIND, RESOURCES
from kserve_local.apiserver.store import Store
from kserve_local.gotemplate import TemplateError, render
from kserve_local.kserve import urls
from kserve_local.kserve.config import Mode, Settings

CONFIGMAP = BY_KIND[("v1", "ConfigMap")]


def store_with(
    isvc_ingress: dict[str, object] | None = None,
    deploy: str = "Knative",
    config_domain: dict[str, str] | None = None,
    domain_template: str | None = None,
) -> Store:
    """A store holding the ConfigMaps a cluster would have, as the target seeds them."""
    store = Store(RESOURCES)

    async def seed() -> None:
        for namespace in ("kserve", "knative-serving"):
            await store.create(BY_KIND[("v1", "Namespace")], "", {"metadata": {"name": namespace}})
        objects = [
            (
                "kserve",
                "inferenceservice-config",
                {"deploy": json.dumps({"defaultDeploymentMode": deploy}), "ingress": json.dumps(isvc_ingress or {})},
            )
        ]
        if config_domain is not None:
            objects.append(("knative-serving", "config-domain", config_domain))
        if domain_template is not None:
            objects.append(("knative-serving", "config-network", {"domain-template": domain_template}))
        for namespace, name, data in objects:
            await store.create(CONFIGMAP, namespace, {"metadata": {"name": name}, "data": data})

    asyncio.run(seed())
    return store


def test_knative_default_host_from_config_domain() -> None:
    settings = Settings.read(store_with(config_domain={"example.com": ""}))
    where = urls.for_service("sklearn-iris", "kserve-test", settings.mode_of(None), settings)
    assert where.url == "http://sklearn-iris.kserve-test.example.com"
    assert where.address == "http://sklearn-iris.kserve-test.svc.cluster.local"
    assert where.predictor_url == "http://sklearn-iris-predictor.kserve-test.example.com"


def test_knative_custom_domain_and_selector() -> None:
    config_domain = {
        "models.acme.io": "",
        "internal.acme.io": "selector:\n  tier: internal\n",
        "_example": "# documentation only",
    }
    settings = Settings.read(store_with(config_domain=config_domain))
    assert urls.for_service("iris", "team-a", Mode.KNATIVE, settings).url == "http://iris.team-a.models.acme.io"
    internal = urls.for_service("iris", "team-a", Mode.KNATIVE, settings, labels={"tier": "internal"})
    assert internal.host == "iris.team-a.internal.acme.io"


def test_knative_domain_template_from_config_network() -> None:
    settings = Settings.read(
        store_with(config_domain={"example.org": ""}, domain_template="{{.Name}}--{{.Namespace}}.{{.Domain}}")
    )
    where = urls.for_service("iris", "ns1", Mode.KNATIVE, settings)
    assert where.predictor_host == "iris-predictor--ns1.example.org"
    assert where.host == "iris--ns1.example.org"


def test_knative_without_config_domain_is_cluster_local() -> None:
    settings = Settings.read(store_with())
    assert urls.for_service("iris", "ns1", Mode.KNATIVE, settings).host == "iris.ns1.svc.cluster.local"


def test_standard_default_template() -> None:
    settings = Settings.read(store_with({"ingressDomain": "example.com"}, deploy="RawDeployment"))
    assert settings.default_mode is Mode.STANDARD
    where = urls.for_service("sklearn-iris", "kserve-test", settings.mode_of(None), settings)
    assert where.url == "http://sklearn-iris-kserve-test.example.com"
    assert where.address == "http://sklearn-iris-predictor.kserve-test.svc.cluster.local"
    assert where.predictor_host == "sklearn-iris-predictor-kserve-test.example.com"


def test_standard_domain_template_with_annotations_and_labels() -> None:
    template = '{{ .Annotations.team }}-{{ .Name }}.{{ index .Labels "env" }}.{{ .IngressDomain }}'
    settings = Settings.read(store_with({"ingressDomain": "acme.io", "domainTemplate": template}, deploy="Standard"))
    where = urls.for_service(
        "iris", "ns1", Mode.STANDARD, settings, annotations={"team": "red"}, labels={"env": "prod"}
    )
    assert where.url == "http://red-iris.prod.acme.io"


def test_path_template_routes_on_the_ingress_domain() -> None:
    ingress = {"ingressDomain": "models.acme.io", "pathTemplate": "/serving/{{ .Namespace }}/{{ .Name }}"}
    settings = Settings.read(store_with(ingress, deploy="Standard"))
    where = urls.for_service("iris", "ns1", Mode.STANDARD, settings)
    assert where.url == "http://models.acme.io/serving/ns1/iris"
    assert (where.host, where.path_prefix) == ("models.acme.io", "/serving/ns1/iris")


def test_https_url_scheme() -> None:
    settings = Settings.read(store_with({"ingressDomain": "example.com", "urlScheme": "https"}, deploy="Standard"))
    where = urls.for_service("iris", "ns1", Mode.STANDARD, settings)
    assert where.url == "https://iris-ns1.example.com"
    assert where.predictor_url == "https://iris-predictor-ns1.example.com"
    assert where.address == "http://iris-predictor.ns1.svc.cluster.local"  # in-cluster stays http


def test_annotation_overrides_the_default_mode_under_either_name() -> None:
    settings = Settings.read(store_with(deploy="Serverless"))
    assert settings.default_mode is Mode.KNATIVE
    assert settings.mode_of({"serving.kserve.io/deploymentMode": "RawDeployment"}) is Mode.STANDARD
    with pytest.raises(ValueError, match="unknown deployment mode"):
        settings.mode_of({"serving.kserve.io/deploymentMode": "ModelMesh"})


def test_go_template_semantics() -> None:
    data = {"Name": "a", "Annotations": {"k": "v"}, "Labels": {}}
    assert render("{{- .Name -}} . {{- .Annotations.k }}", data) == "a.v"
    assert render("{{ .Annotations.missing }}", data) == "<no value>"  # Go's invalid value
    assert render('{{ index .Labels "missing" }}', data) == ""  # index: the zero value
    with pytest.raises(TemplateError, match="can't evaluate field Nope"):
        render("{{ .Nope }}", data)
    with pytest.raises(TemplateError, match="unclosed"):
        render("{{ .Name", data)
