"""V1 data-plane checks through the ingress: SEED.md steps 4-5."""

from __future__ import annotations

import allure
import pytest

from kserve_conformance.dataplane import consecutive_successes
from kserve_conformance.evidence import attach_exchange
from kserve_conformance.fixtures.services import DeployedService
from kserve_conformance.spec import EXTENDED, conformance

pytestmark = pytest.mark.services(protocol="v1")


@pytest.mark.usefixtures("applied_service")  # an ingress exists only in front of a cluster
@conformance("IngressRoutesHost", "The ingress routes the service's Host header to its predictor: "
             "N consecutive non-404 answers after Ready.")
def test_ingress_routes_host(service: DeployedService) -> None:
    path = service.readiness_path()
    with allure.step(f"GET {path} with Host {service.expected.host}"):
        answers = consecutive_successes(lambda: service.dataplane.get(path), service.consecutive,
                                        service.consistency_s, ok=lambda e: e.status != 404)
        attach_exchange(answers[-1])


@conformance("ModelReadyV1", "GET /v1/models/{name} answers 200 with {name, ready: true}.")
def test_model_ready(service: DeployedService) -> None:
    service.settle()
    exchange = service.dataplane.get(f"/v1/models/{service.name}")
    attach_exchange(exchange)
    assert exchange.status == 200, f"model status answered {exchange.status}: {exchange.describe()}"
    body = exchange.json()
    assert body.get("name") == service.name, f"model status names {body.get('name')!r}, expected {service.name!r}"
    assert body.get("ready") is True, f"model reports ready={body.get('ready')!r}: {body}"


@conformance("PredictTutorial", "The tutorial's request returns exactly {\"predictions\": [1, 1]}.")
def test_predict_tutorial(service: DeployedService) -> None:
    tutorial = service.entry.payloads["tutorial"]
    service.settle()
    with allure.step(f"POST /v1/models/{service.name}:predict"):
        exchange = service.dataplane.post_json(f"/v1/models/{service.name}:predict", tutorial["request"])
        attach_exchange(exchange)
    assert exchange.status == 200, f"predict answered {exchange.status}: {exchange.describe()}"
    assert exchange.json() == tutorial["exact"], (
        f"predict returned {exchange.json()}, expected exactly {tutorial['exact']}")


@conformance("PredictWithoutContentType", "The tutorial's `curl -d` (form content type, JSON body) is "
             "answered like a JSON request.", level=EXTENDED, features=("V1FormBody",))
def test_predict_without_json_content_type(service: DeployedService) -> None:
    tutorial = service.entry.payloads["tutorial"]
    service.settle()
    exchange = service.dataplane.post_json(f"/v1/models/{service.name}:predict", tutorial["request"],
                                           content_type="application/x-www-form-urlencoded")
    attach_exchange(exchange)
    assert exchange.status == 200, f"predict with curl's form content type answered {exchange.describe()}"
    assert exchange.json() == tutorial["exact"], f"predict returned {exchange.json()}, expected {tutorial['exact']}"


@conformance("PredictClasses", "Predict returns the right iris class for inputs covering all three classes.")
def test_predict_classes(service: DeployedService, case: dict) -> None:
    service.settle()
    exchange = service.dataplane.post_json(f"/v1/models/{service.name}:predict", case["request"])
    attach_exchange(exchange)
    assert exchange.status == 200, f"predict answered {exchange.status}: {exchange.describe()}"
    predictions = exchange.json().get("predictions")
    assert predictions == case["predictions"], (
        f"{case['id']}: predictions {predictions}, expected {case['predictions']}")
