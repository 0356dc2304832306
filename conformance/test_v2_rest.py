"""Open Inference Protocol (V2) REST checks.

Levels follow the one rule in ``kserve_conformance.checks.spec``: core is what the protocol requires
and every runtime KServe ships does; the rest of the protocol is extended, with features (model
versions, the binary tensor extension) reported *not supported* where a server does not offer
them. Quotes are from the protocol's REST specification (``inference_rest.md``) and OpenAPI
(``open_inference_rest.yaml``). Which servers were run, and their outcome per check, is in
the interop table of ``docs/interop.md``, produced by ``tests/interop``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, Check, check_of, conformance, not_supported
from kserve_conformance.dataplane import oip
from kserve_conformance.dataplane.oip_checks import cases, conforms, json_of
from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.fixtures.service_requests import error_case, get, infer

pytestmark = pytest.mark.services(protocol="v2")


@pytest.fixture(scope="session")
def server_metadata(kserve_service: ServedModel) -> dict[str, Any] | None:
    """Who the server says it is: decides which known deviations apply."""
    exchange = kserve_service.dataplane.get("/v2")
    doc, problem = oip.body_json(exchange.status, exchange.response_headers, exchange.response_body)
    return doc if exchange.status == 200 and problem is None and isinstance(doc, dict) else None


@pytest.fixture
def deviation(request: pytest.FixtureRequest, server_metadata: dict[str, Any] | None) -> None:
    check: Check | None = check_of(request.node)
    assert check is not None
    case = request.node.callspec.params.get("case_id") if hasattr(request.node, "callspec") else None
    oip.apply_known_deviation(request, check, server_metadata, case)


@conformance(
    "ServerLive",
    "GET /v2/health/live answers 200; the OpenAPI gives this endpoint only a 200 response, with no body.",
    spec='"A 200 status code indicates true"',
)
def test_server_live(kserve_service: ServedModel) -> None:
    exchange = get(kserve_service, "/v2/health/live")
    assert exchange.status == 200, f"server live answered {exchange.describe()}"


@conformance(
    "ServerReady",
    "GET /v2/health/ready answers 200 once the model is loaded.",
    spec='the "server ready" API "indicates if all the models are ready for inferencing"',
)
def test_server_ready(kserve_service: ServedModel) -> None:
    exchange = get(kserve_service, "/v2/health/ready")
    assert exchange.status == 200, f"server ready answered {exchange.describe()}"


@conformance(
    "HealthBodies",
    "What a health endpoint says in its body agrees with its status. The OpenAPI "
    "defines no body for /v2/health/live and /ready, so an empty 200 is conformant (MLServer); a body, "
    'where there is one, is the REST spec\'s {"live": true} / {"ready": true} (KServe).',
    level=EXTENDED,
)
def test_health_bodies(kserve_service: ServedModel) -> None:
    for path, key in (("/v2/health/live", "live"), ("/v2/health/ready", "ready")):
        exchange = get(kserve_service, path)
        assert exchange.status == 200, f"{path} answered {exchange.describe()}"
        if not exchange.response_body.strip():
            continue
        doc = json_of(exchange)
        assert isinstance(doc, dict) and doc.get(key, True) is True, (
            f"{path} answered 200 but its body says {doc}: the body contradicts the status"
        )


@conformance(
    "ServerMetadata",
    "GET /v2 returns the $metadata_server_response with name, version and extensions (all required by the OpenAPI "
    "schema).",
    spec='$metadata_server_response: "name", "version" and "extensions"',
)
def test_server_metadata(kserve_service: ServedModel) -> None:
    conforms(get(kserve_service, "/v2"), "metadata_server_response")


@conformance(
    "ModelMetadata",
    "GET /v2/models/{name} returns the $metadata_model_response under the model's own name.",
    spec='$metadata_model_response: "name" and "platform" required; "name": "The name of the model."',
)
def test_model_metadata(kserve_service: ServedModel) -> None:
    doc = conforms(get(kserve_service, f"/v2/models/{kserve_service.name}"), "metadata_model_response")
    assert doc["name"] == kserve_service.name, f"model metadata names {doc['name']!r}, expected {kserve_service.name!r}"


@conformance(
    "ModelReady",
    "GET /v2/models/{name}/ready answers 200 for the served model, and not 200 for a model that does not exist.",
    spec='"indicates if a specific model is ready for inferencing"',
)
def test_model_ready(kserve_service: ServedModel) -> None:
    exchange = get(kserve_service, f"/v2/models/{kserve_service.name}/ready")
    assert exchange.status == 200, f"model ready answered {exchange.describe()}"
    unknown = get(kserve_service, "/v2/models/no-such-model-kserve-conformance/ready")
    assert unknown.status != 200, f"a model that does not exist is reported ready: {unknown.describe()}"


@conformance(
    "Infer",
    "POST /v2/models/{name}/infer with the FP32 iris input returns classes [1, 1] in an $inference_response.",
    spec='$inference_response: "model_name" and "outputs" required',
)
def test_infer(kserve_service: ServedModel) -> None:
    payload = kserve_service.entry.payloads["infer"]
    doc = conforms(infer(kserve_service, payload["request"]), "inference_response")
    data = list(oip.flatten(doc["outputs"][0]["data"]))
    assert data == payload["classes"], f"infer returned classes {data}, expected {payload['classes']}"


@conformance(
    "InferEchoesId",
    "The response echoes the request id.",
    spec='"if specified this identifier must be returned in the response"',
)
def test_infer_echoes_id(kserve_service: ServedModel) -> None:
    request = kserve_service.entry.payloads["infer"]["request"]
    doc = json_of(infer(kserve_service, request))
    assert doc.get("id") == request["id"], f"response id is {doc.get('id')!r}, request id was {request['id']!r}"


@conformance(
    "InferModelName",
    "The response's model_name is the model that was asked.",
    spec='model_name: "The name of the model used for inference."',
)
def test_infer_model_name(kserve_service: ServedModel) -> None:
    doc = json_of(infer(kserve_service, kserve_service.entry.payloads["infer"]["request"]))
    assert doc.get("model_name") == kserve_service.name, (
        f"response model_name is {doc.get('model_name')!r}, expected {kserve_service.name!r}"
    )


@conformance(
    "OutputShapeMatchesData",
    "Each output tensor's shape agrees with the number of elements in its "
    "data ([2] and [2, 1] are both valid for two classes).",
)
def test_output_shape_matches_data(kserve_service: ServedModel) -> None:
    doc = json_of(infer(kserve_service, kserve_service.entry.payloads["infer"]["request"]))
    for output in doc.get("outputs", []):
        count = len(list(oip.flatten(output.get("data", []))))
        assert oip.element_count(output["shape"]) == count, (
            f"output {output.get('name')!r} has shape {output['shape']} "
            f"({oip.element_count(output['shape'])} elements) but {count} data elements"
        )


@conformance(
    "OutputBatchFirst",
    "The output's first dimension is the batch size. The spec leaves a model's output shape to the model (its "
    "sentence on batching speaks of inputs only), so this is extended.",
    spec='"If the input is batched, the shape and data must represent the full shape"',
    level=EXTENDED,
)
def test_output_batch_first(kserve_service: ServedModel) -> None:
    request = kserve_service.entry.payloads["infer"]["request"]
    doc = json_of(infer(kserve_service, request))
    batch = request["inputs"][0]["shape"][0]
    assert doc["outputs"][0]["shape"][0] == batch, f"output shape {doc['outputs'][0]['shape']}, batch {batch}"


@pytest.mark.parametrize("case_id", cases())
@conformance(
    "ErrorResponse",
    "A request the server cannot serve (unknown model, malformed JSON, wrong datatype, shape/data mismatch) fails "
    'with an HTTP error status. Where every runtime KServe ships also answers {"error": "..."} (unknown model, '
    "shape/data mismatch), so must the server.",
    spec='"A failed inference request must be indicated by an HTTP error status"; "The HTTP body must contain the '
    '$inference_error_response object."',
)
def test_error_response(kserve_service: ServedModel, case_id: str) -> None:
    case, exchange = error_case(kserve_service, case_id)
    assert exchange.status >= 400, f"{case_id}: expected an error status, got {exchange.describe()}"
    if case["body_level"] == "core":
        problem = oip.error_body_problem(exchange.status, exchange.response_headers, exchange.response_body)
        assert problem is None, f"{case_id}: error body is not the $inference_error_response: {problem}"


@pytest.mark.usefixtures("deviation")
@pytest.mark.parametrize("case_id", cases(body_level="extended"))
@conformance(
    "ErrorBody",
    'Every failed inference answers with {"error": "..."}. Extended for the inputs a runtime KServe ships answers '
    "otherwise (known deviations name them).",
    spec='"The HTTP body must contain the $inference_error_response object."',
    level=EXTENDED,
)
def test_error_body(kserve_service: ServedModel, case_id: str) -> None:
    _, exchange = error_case(kserve_service, case_id)
    problem = oip.error_body_problem(exchange.status, exchange.response_headers, exchange.response_body)
    assert problem is None, f"{case_id}: error body is not the $inference_error_response: {problem}"


@pytest.mark.usefixtures("deviation")
@pytest.mark.parametrize("case_id", cases(client_error=True))
@conformance(
    "ErrorStatusBadInput",
    "A request that is the client's mistake is answered with a 4xx: any 4xx passes (404 for an unknown model, 422 for "
    "input a validator rejects); a 5xx tells the client the server failed, which HTTP reserves for the server's own "
    "faults (RFC 9110, 15.6), so it fails.",
    spec='"an HTTP error status (typically 400)"',
    level=EXTENDED,
)
def test_error_status(kserve_service: ServedModel, case_id: str) -> None:
    _, exchange = error_case(kserve_service, case_id)
    assert 400 <= exchange.status < 500, (
        f"{case_id}: expected a 4xx for the client's bad input, got {exchange.describe()}"
    )


@conformance(
    "VersionedInfer",
    "POST /v2/models/{name}/versions/{version}/infer works for a version the model's metadata lists. A model that "
    "lists none does not offer versioned requests: not supported.",
    spec='"versions": "The model versions that may be explicitly requested"',
    level=EXTENDED,
    features=(Feature.MODEL_VERSIONS,),
)
def test_versioned_infer(kserve_service: ServedModel) -> None:
    payload = kserve_service.entry.payloads["infer"]
    metadata = conforms(get(kserve_service, f"/v2/models/{kserve_service.name}"), "metadata_model_response")
    versions = metadata.get("versions") or []
    if not versions:
        not_supported(Feature.MODEL_VERSIONS, f"the model metadata lists no versions ({metadata.get('versions')!r})")
    exchange = infer(kserve_service, payload["request"], model=f"{kserve_service.name}/versions/{versions[0]}")
    doc = conforms(exchange, "inference_response")
    data = list(oip.flatten(doc["outputs"][0]["data"]))
    assert data == payload["classes"], f"version {versions[0]!r} returned classes {data}, expected {payload['classes']}"


@conformance(
    "BinaryTensorInput",
    "The binary tensor data extension: FP32 input as raw bytes after the JSON header. A server that does not list "
    "binary_tensor_data and refuses such a request does not support it; one that lists it, or answers it, must answer "
    "it correctly.",
    spec='"extensions": "The extensions supported by the server"',
    level=EXTENDED,
    features=(Feature.BINARY_TENSOR_DATA,),
)
def test_binary_tensor_input(kserve_service: ServedModel, server_metadata: dict[str, Any] | None) -> None:
    payload = kserve_service.entry.payloads["infer"]
    tensor = payload["request"]["inputs"][0]
    raw = oip.encode_fp32(list(oip.flatten(tensor["data"])))
    header = json.dumps(
        {
            "id": "binary",
            "inputs": [
                {k: v for k, v in tensor.items() if k != "data"} | {"parameters": {"binary_data_size": len(raw)}}
            ],
        }
    ).encode()
    exchange = infer(
        kserve_service,
        header + raw,
        headers={"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"},
    )
    advertised = oip.BINARY_EXTENSION in ((server_metadata or {}).get("extensions") or [])
    if exchange.status >= 400 and not advertised:
        not_supported(
            Feature.BINARY_TENSOR_DATA,
            f"GET /v2 does not list {oip.BINARY_EXTENSION!r} and a binary request is answered {exchange.status}",
        )
    doc = conforms(exchange, "inference_response")
    data = list(oip.flatten(doc["outputs"][0]["data"]))
    assert data == payload["classes"], f"binary input returned classes {data}, expected {payload['classes']}"
