"""Open Inference Protocol (V2) REST checks.

Core checks assert what the protocol requires of every server; extended checks cover what real
servers legitimately differ on (exact error codes, health bodies, versioned paths, the binary
tensor extension). KServe's server, MLServer and Triton must all pass every core check.
"""

from __future__ import annotations

import json
from typing import Any

import allure
import pytest

from kserve_conformance import oip
from kserve_conformance.catalog import DATA, load_yaml
from kserve_conformance.dataplane import Exchange
from kserve_conformance.evidence import attach_exchange
from kserve_conformance.fixtures.services import DeployedService
from kserve_conformance.spec import EXTENDED, Check, check_of, conformance, not_supported

pytestmark = pytest.mark.services(protocol="v2")
ERROR_CASES = [c["id"] for c in load_yaml(DATA / "payloads" / "iris-v2.yaml")["errors"]]


def get(service: DeployedService, path: str) -> Exchange:
    service.settle()
    with allure.step(f"GET {path}"):
        exchange = service.dataplane.get(path)
        attach_exchange(exchange)
    return exchange


def infer(service: DeployedService, body: bytes | dict[str, Any], model: str | None = None,
          headers: dict[str, str] | None = None) -> Exchange:
    service.settle()
    path = f"/v2/models/{model or service.name}/infer"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with allure.step(f"POST {path}"):
        exchange = service.dataplane.request("POST", path, raw, {"Content-Type": "application/json", **(headers or {})})
        attach_exchange(exchange)
    return exchange


def conforms(exchange: Exchange, schema: str) -> Any:
    assert 200 <= exchange.status < 300, f"expected success, got {exchange.describe()}"
    doc = exchange.json()
    problems = oip.schema_problems(doc, schema)
    assert not problems, f"response does not conform to the OIP {schema} schema: {'; '.join(problems)}"
    return doc


@pytest.fixture(scope="session")
def server_metadata(service: DeployedService) -> dict[str, Any] | None:
    """Who the server says it is: decides which known deviations apply."""
    exchange = service.dataplane.get("/v2")
    return exchange.json() if exchange.status == 200 else None


@pytest.fixture
def deviation(request: pytest.FixtureRequest, server_metadata: dict[str, Any] | None) -> None:
    check: Check | None = check_of(request.node)
    assert check is not None
    case = request.node.callspec.params.get("case_id") if hasattr(request.node, "callspec") else None
    oip.apply_known_deviation(request, check, server_metadata, case)


@conformance("ServerLive", "GET /v2/health/live answers 200.")
def test_server_live(service: DeployedService) -> None:
    exchange = get(service, "/v2/health/live")
    assert exchange.status == 200, f"server live answered {exchange.describe()}"


@conformance("ServerReady", "GET /v2/health/ready answers 200.")
def test_server_ready(service: DeployedService) -> None:
    exchange = get(service, "/v2/health/ready")
    assert exchange.status == 200, f"server ready answered {exchange.describe()}"


@conformance("HealthBodies", "Health endpoints also say so in the body ({\"live\": true}, {\"ready\": true}); "
             "the protocol only requires the status code (MLServer sends none).", level=EXTENDED)
def test_health_bodies(service: DeployedService) -> None:
    for path, key in (("/v2/health/live", "live"), ("/v2/health/ready", "ready")):
        exchange = get(service, path)
        assert exchange.status == 200 and exchange.response_body, f"{path} answered {exchange.describe()}"
        assert exchange.json().get(key) is True, f"{path} body is {exchange.json()}, expected {{{key!r}: true}}"


@conformance("ServerMetadata", "GET /v2 returns name, version and extensions.")
def test_server_metadata(service: DeployedService) -> None:
    conforms(get(service, "/v2"), "metadata_server_response")


@conformance("ModelMetadata", "GET /v2/models/{name} returns the model's metadata under its own name.")
def test_model_metadata(service: DeployedService) -> None:
    doc = conforms(get(service, f"/v2/models/{service.name}"), "metadata_model_response")
    assert doc["name"] == service.name, f"model metadata names {doc['name']!r}, expected {service.name!r}"


@conformance("ModelReady", "GET /v2/models/{name}/ready answers 200 for the served model, and not 200 for "
             "a model that does not exist.")
def test_model_ready(service: DeployedService) -> None:
    exchange = get(service, f"/v2/models/{service.name}/ready")
    assert exchange.status == 200, f"model ready answered {exchange.describe()}"
    unknown = get(service, "/v2/models/no-such-model-kserve-conformance/ready")
    assert unknown.status != 200, f"a model that does not exist is reported ready: {unknown.describe()}"


@conformance("Infer", "POST /v2/models/{name}/infer with the FP32 iris input returns classes [1, 1] in a "
             "conforming response.")
def test_infer(service: DeployedService) -> None:
    payload = service.entry.payloads["infer"]
    doc = conforms(infer(service, payload["request"]), "inference_response")
    data = list(oip.flatten(doc["outputs"][0]["data"]))
    assert data == payload["classes"], f"infer returned classes {data}, expected {payload['classes']}"


@conformance("InferEchoesId", "The response echoes the request id.")
def test_infer_echoes_id(service: DeployedService) -> None:
    request = service.entry.payloads["infer"]["request"]
    doc = infer(service, request).json()
    assert doc.get("id") == request["id"], f"response id is {doc.get('id')!r}, request id was {request['id']!r}"


@conformance("InferModelName", "The response's model_name is the model that was asked.")
def test_infer_model_name(service: DeployedService) -> None:
    doc = infer(service, service.entry.payloads["infer"]["request"]).json()
    assert doc.get("model_name") == service.name, (
        f"response model_name is {doc.get('model_name')!r}, expected {service.name!r}")


@conformance("OutputShapeMatchesData", "Each output tensor's shape agrees with the number of elements in its "
             "data ([2] and [2, 1] are both valid for two classes).")
def test_output_shape_matches_data(service: DeployedService) -> None:
    doc = infer(service, service.entry.payloads["infer"]["request"]).json()
    for output in doc.get("outputs", []):
        count = len(list(oip.flatten(output.get("data", []))))
        assert oip.element_count(output["shape"]) == count, (
            f"output {output.get('name')!r} has shape {output['shape']} "
            f"({oip.element_count(output['shape'])} elements) but {count} data elements")


@conformance("OutputBatchFirst", "The output's first dimension is the batch size.", level=EXTENDED)
def test_output_batch_first(service: DeployedService) -> None:
    request = service.entry.payloads["infer"]["request"]
    doc = infer(service, request).json()
    batch = request["inputs"][0]["shape"][0]
    assert doc["outputs"][0]["shape"][0] == batch, f"output shape {doc['outputs'][0]['shape']}, batch {batch}"


def error_case(service: DeployedService, case_id: str) -> tuple[dict[str, Any], Exchange]:
    case = next(c for c in service.entry.payloads["errors"] if c["id"] == case_id)
    return case, infer(service, case["body"].encode(), model=case.get("model"))


@pytest.mark.parametrize("case_id", ERROR_CASES)
@conformance("ErrorResponse", "A request the server cannot serve (unknown model, malformed JSON, wrong datatype, "
             "shape/data mismatch) fails with an error status and, where the body is the server's own, "
             "{\"error\": \"...\"}.")
def test_error_response(service: DeployedService, case_id: str) -> None:
    _, exchange = error_case(service, case_id)
    assert exchange.status >= 400, f"{case_id}: expected an error status, got {exchange.describe()}"
    if case_id == "malformed-json":
        return  # the body's shape for unparseable input is extended: see ErrorBodyMalformedJSON
    assert exchange.response_body, f"{case_id}: error {exchange.status} has an empty body, expected {{\"error\": ...}}"
    problems = oip.schema_problems(exchange.json(), "inference_error_response")
    assert not problems, f"{case_id}: error body is not {{\"error\": \"...\"}}: {exchange.json()}"


@pytest.mark.usefixtures("deviation")
@pytest.mark.parametrize("case_id", ERROR_CASES)
@conformance("ErrorStatusBadInput", "Errors use the protocol's typical codes: 404 for an unknown model, 400 for "
             "bad input.", level=EXTENDED)
def test_error_status(service: DeployedService, case_id: str) -> None:
    case, exchange = error_case(service, case_id)
    assert exchange.status == case["status"], f"{case_id}: expected {case['status']}, got {exchange.describe()}"


@pytest.mark.usefixtures("deviation")
@conformance("ErrorBodyMalformedJSON", "Malformed JSON is answered with an {\"error\": \"...\"} body.",
             level=EXTENDED)
def test_error_body_malformed_json(service: DeployedService) -> None:
    _, exchange = error_case(service, "malformed-json")
    assert exchange.response_body, f"error {exchange.status} has an empty body"
    body = exchange.json()
    problems = oip.schema_problems(body, "inference_error_response")
    assert not problems, f"malformed JSON answered {exchange.status} with {body}, not {{\"error\": \"...\"}}"


@conformance("VersionedInfer", "POST /v2/models/{name}/versions/{version}/infer works like the unversioned path.",
             level=EXTENDED, features=("ModelVersions",))
def test_versioned_infer(service: DeployedService) -> None:
    payload = service.entry.payloads["infer"]
    versions = get(service, f"/v2/models/{service.name}").json().get("versions") or ["1"]
    exchange = infer(service, payload["request"], model=f"{service.name}/versions/{versions[0]}")
    if exchange.status == 501:
        not_supported("ModelVersions", f"the server answers 501: {exchange.response_body[:200]!r}")
    doc = conforms(exchange, "inference_response")
    assert list(oip.flatten(doc["outputs"][0]["data"])) == payload["classes"]


@conformance("BinaryTensorInput", "The binary tensor extension: FP32 input as raw bytes after the JSON header.",
             level=EXTENDED, features=("BinaryTensorData",))
def test_binary_tensor_input(service: DeployedService) -> None:
    payload = service.entry.payloads["infer"]
    tensor = payload["request"]["inputs"][0]
    raw = oip.encode_fp32(list(oip.flatten(tensor["data"])))
    header = json.dumps({"id": "binary", "inputs": [{k: v for k, v in tensor.items() if k != "data"}
                                                    | {"parameters": {"binary_data_size": len(raw)}}]}).encode()
    exchange = infer(service, header + raw, headers={"Inference-Header-Content-Length": str(len(header)),
                                                     "Content-Type": "application/octet-stream"})
    if exchange.status in (400, 415, 501) and b"binary" in exchange.response_body.lower():
        not_supported("BinaryTensorData", exchange.response_body[:200].decode(errors="replace"))
    doc = conforms(exchange, "inference_response")
    assert list(oip.flatten(doc["outputs"][0]["data"])) == payload["classes"], doc
