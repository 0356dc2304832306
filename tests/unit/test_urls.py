"""URL and template logic, checked against KServe's real inferenceservice-config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kserve_conformance.cluster.urls import (
    IngressConfig,
    TemplateError,
    expected_urls,
    normalize_mode,
    render,
    service_mode,
)


@pytest.fixture(scope="module")
def upstream(reference: Path) -> IngressConfig:
    cm = yaml.safe_load((reference / "kserve" / "config" / "inferenceservice-config.yaml").read_text())
    ingress = json.loads(cm["data"]["ingress"])
    deploy = json.loads(cm["data"]["deploy"])
    return IngressConfig(
        default_mode=normalize_mode(deploy["defaultDeploymentMode"]),
        ingress_domain=ingress["ingressDomain"],
        domain_template=ingress["domainTemplate"],
        url_scheme=ingress["urlScheme"],
    )


def test_upstream_default_mode_is_knative_under_its_old_name(upstream: IngressConfig) -> None:
    assert upstream.default_mode == "Knative"


def test_knative_url_from_upstream_defaults(upstream: IngressConfig) -> None:
    urls = expected_urls("sklearn-iris", "kserve-test", "Serverless", upstream)
    assert urls.url == "http://sklearn-iris.kserve-test.example.com"
    assert urls.address_url == "http://sklearn-iris.kserve-test.svc.cluster.local"
    assert urls.host == "sklearn-iris.kserve-test.example.com"


def test_standard_url_from_upstream_domain_template(upstream: IngressConfig) -> None:
    urls = expected_urls("sklearn-iris", "kserve-test", "RawDeployment", upstream)
    assert urls.url == "http://sklearn-iris-kserve-test.example.com"
    assert urls.address_url == "http://sklearn-iris-predictor.kserve-test.svc.cluster.local"


def test_tutorial_custom_knative_domain() -> None:
    config = IngressConfig(knative_domain="example.it")
    assert (
        expected_urls("sklearn-iris", "kserve-test", "Knative", config).url
        == "http://sklearn-iris.kserve-test.example.it"
    )


def test_path_based_routing() -> None:
    config = IngressConfig(path_template="/serving/{{ .Namespace }}/{{ .Name }}", ingress_domain="models.corp")
    urls = expected_urls("sklearn-iris", "ns1", "Standard", config)
    assert urls.url == "http://models.corp/serving/ns1/sklearn-iris"
    assert (urls.host, urls.path_prefix) == ("models.corp", "/serving/ns1/sklearn-iris")


def test_https_scheme_and_annotation_in_template() -> None:
    template = "{{ .Name }}.{{ .Annotations.team }}.{{ .IngressDomain }}"
    config = IngressConfig(url_scheme="https", domain_template=template)
    urls = expected_urls("m", "ns", "Standard", config, annotations={"team": "ml"})
    assert urls.url == "https://m.ml.example.com"


def test_index_form_of_labels() -> None:
    assert render('{{ index .Labels "app" }}-x', {"Labels": {"app": "iris"}}) == "iris-x"


@pytest.mark.parametrize("template", ["{{ .Missing }}", "{{ if .Name }}x{{ end }}"])
def test_unrenderable_templates_name_the_problem(template: str) -> None:
    with pytest.raises(TemplateError, match="template"):
        render(template, {"Name": "n"})


def test_mode_annotation_overrides_cluster_default() -> None:
    config = IngressConfig(default_mode="Knative")
    assert service_mode({"serving.kserve.io/deploymentMode": "RawDeployment"}, config) == "Standard"
    assert service_mode({}, config) == "Knative"


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown deployment mode 'Modelmesh'"):
        normalize_mode("Modelmesh")
