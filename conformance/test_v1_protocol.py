"""V1 data-plane checks through the ingress: the walk-through's steps 4-5 (docs/walkthrough.md)."""

from __future__ import annotations

from typing import Any

import allure
import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance
from kserve_conformance.dataplane.rest import consecutive_successes
from kserve_conformance.fixtures.owned import DeployedService, ServedModel
from kserve_conformance.reporting.evidence import attach_exchange

pytestmark = pytest.mark.services(protocol="v1")


@pytest.mark.usefixtures("kserve_applied_service")  # an ingress exists only in front of a cluster
@conformance(
    "IngressRoutesHost",
    "The ingress routes the service's Host header to its predictor: N consecutive non-404 answers after Ready.",
)
def test_ingress_routes_host(kserve_service: DeployedService) -> None:
    path = kserve_service.readiness_path()
    with allure.step(f"GET {path} with Host {kserve_service.expected.host}"):
        answers = consecutive_successes(
            lambda: kserve_service.dataplane.get(path),
            kserve_service.consecutive,
            kserve_service.consistency_s,
            ok=lambda e: e.status != 404,
        )
        attach_exchange(answers[-1])


@conformance("ModelReadyV1", "GET /v1/models/{name} answers 200 with {name, ready: true}.")
def test_model_ready(kserve_service: ServedModel) -> None:
    kserve_service.settle()
    exchange = kserve_service.dataplane.get(f"/v1/models/{kserve_service.name}")
    attach_exchange(exchange)
    assert exchange.status == 200, f"model status answered {exchange.status}: {exchange.describe()}"
    body = exchange.json()
    assert body.get("name") == kserve_service.name, (
        f"model status names {body.get('name')!r}, expected {kserve_service.name!r}"
    )
    assert body.get("ready") is True, f"model reports ready={body.get('ready')!r}: {body}"


@conformance("PredictTutorial", 'The tutorial\'s request returns exactly {"predictions": [1, 1]}.')
def test_predict_tutorial(kserve_service: ServedModel) -> None:
    tutorial = kserve_service.entry.payloads["tutorial"]
    kserve_service.settle()
    with allure.step(f"POST /v1/models/{kserve_service.name}:predict"):
        exchange = kserve_service.dataplane.post_json(f"/v1/models/{kserve_service.name}:predict", tutorial["request"])
        attach_exchange(exchange)
    assert exchange.status == 200, f"predict answered {exchange.status}: {exchange.describe()}"
    assert exchange.json() == tutorial["exact"], (
        f"predict returned {exchange.json()}, expected exactly {tutorial['exact']}"
    )


@conformance(
    "PredictWithoutContentType",
    "The tutorial's `curl -d` (form content type, JSON body) is answered like a JSON request.",
    level=EXTENDED,
    features=(Feature.V1_FORM_BODY,),
)
def test_predict_without_json_content_type(kserve_service: ServedModel) -> None:
    tutorial = kserve_service.entry.payloads["tutorial"]
    kserve_service.settle()
    exchange = kserve_service.dataplane.post_json(
        f"/v1/models/{kserve_service.name}:predict",
        tutorial["request"],
        content_type="application/x-www-form-urlencoded",
    )
    attach_exchange(exchange)
    assert exchange.status == 200, f"predict with curl's form content type answered {exchange.describe()}"
    assert exchange.json() == tutorial["exact"], f"predict returned {exchange.json()}, expected {tutorial['exact']}"


@conformance("PredictClasses", "Predict returns the right iris class for inputs covering all three classes.")
def test_predict_classes(kserve_service: ServedModel, case: dict[str, Any]) -> None:
    kserve_service.settle()
    exchange = kserve_service.dataplane.post_json(f"/v1/models/{kserve_service.name}:predict", case["request"])
    attach_exchange(exchange)
    assert exchange.status == 200, f"predict answered {exchange.status}: {exchange.describe()}"
    predictions = exchange.json().get("predictions")
    assert predictions == case["predictions"], (
        f"{case['id']}: predictions {predictions}, expected {case['predictions']}"
    )
