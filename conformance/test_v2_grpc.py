"""Open Inference Protocol (V2) gRPC checks: ``inference.GRPCInferenceService``.

The stubs come from ``open-inference-grpc``, generated from the protocol's own proto and
maintained upstream, not from code generated into this repository. Not from the ``kserve``
package: importing anything under it parses ``sys.argv`` with KServe's model-server argparse,
which exits the whole pytest run when a suite or user option shares a name with one of its flags.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from open_inference.grpc import protocol as pb
from open_inference.grpc import service as pb_grpc

from kserve_conformance.checks.features import Feature
from kserve_conformance.checks.spec import EXTENDED, conformance, not_supported
from kserve_conformance.dataplane import oip
from kserve_conformance.dataplane.oip_grpc import infer_request, output_values
from kserve_conformance.fixtures.owned import ServedModel
from kserve_conformance.plugin import config

pytestmark = pytest.mark.services(protocol="v2")
TIMEOUT_S = config.active().timeouts.request_s  # --kserve-request-timeout
# Status codes that mean "no such model" to a client; servers differ on which one they use.
NOT_FOUND_CLASS = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE}


@pytest.fixture(scope="session")
def stub(kserve_service: ServedModel) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    if not kserve_service.grpc_target:
        not_supported(
            Feature.GRPC,
            "no gRPC endpoint reachable from here; pass --kserve-grpc-endpoint HOST:PORT "
            "(e.g. a kubectl port-forward to the predictor's gRPC port)",
        )
    with grpc.insecure_channel(kserve_service.grpc_target) as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


@conformance("GrpcServerLive", "ServerLive says live.", features=(Feature.GRPC,))
def test_server_live(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=TIMEOUT_S).live is True, "ServerLive returned live=false"


@conformance("GrpcServerReady", "ServerReady says ready.", features=(Feature.GRPC,))
def test_server_ready(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    assert stub.ServerReady(pb.ServerReadyRequest(), timeout=TIMEOUT_S).ready is True, "ServerReady returned false"


@conformance("GrpcServerMetadata", "ServerMetadata names the server and its version.", features=(Feature.GRPC,))
def test_server_metadata(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    reply = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=TIMEOUT_S)
    assert reply.name and reply.version, f"ServerMetadata lacks name or version: {reply}"


@conformance("GrpcModelReady", "ModelReady says ready for the served model.", features=(Feature.GRPC,))
def test_model_ready(stub: pb_grpc.GRPCInferenceServiceStub, kserve_service: ServedModel) -> None:
    reply = stub.ModelReady(pb.ModelReadyRequest(name=kserve_service.name), timeout=TIMEOUT_S)
    assert reply.ready is True, f"ModelReady({kserve_service.name}) returned ready=false"


@conformance("GrpcModelMetadata", "ModelMetadata answers under the model's own name.", features=(Feature.GRPC,))
def test_model_metadata(stub: pb_grpc.GRPCInferenceServiceStub, kserve_service: ServedModel) -> None:
    reply = stub.ModelMetadata(pb.ModelMetadataRequest(name=kserve_service.name), timeout=TIMEOUT_S)
    assert reply.name == kserve_service.name, f"ModelMetadata names {reply.name!r}, expected {kserve_service.name!r}"


@conformance(
    "GrpcModelInfer",
    "ModelInfer returns classes [1, 1], echoes the id and names the model.",
    features=(Feature.GRPC,),
)
def test_model_infer(stub: pb_grpc.GRPCInferenceServiceStub, kserve_service: ServedModel) -> None:
    request = infer_request(kserve_service.entry.payloads["infer"]["request"], kserve_service.name)
    reply = stub.ModelInfer(request, timeout=TIMEOUT_S)
    assert reply.model_name == kserve_service.name, (
        f"model_name is {reply.model_name!r}, expected {kserve_service.name!r}"
    )
    assert reply.id == request.id, f"response id is {reply.id!r}, request id was {request.id!r}"
    classes = kserve_service.entry.payloads["infer"]["classes"]
    values = output_values(reply)
    assert values == classes, f"ModelInfer returned {values}, expected {classes}"
    assert oip.element_count(list(reply.outputs[0].shape)) == len(values), (
        f"output shape {list(reply.outputs[0].shape)} disagrees with {len(values)} values"
    )


@conformance(
    "GrpcUnknownModel",
    "ModelInfer for a model that does not exist fails with a not-found-class status.",
    features=(Feature.GRPC,),
)
def test_unknown_model(stub: pb_grpc.GRPCInferenceServiceStub, kserve_service: ServedModel) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(
            infer_request(kserve_service.entry.payloads["infer"]["request"], "no-such-model-kserve-conformance"),
            timeout=TIMEOUT_S,
        )
    code = err.value.code()
    expected = sorted(c.name for c in NOT_FOUND_CLASS)
    assert code in NOT_FOUND_CLASS, f"unknown model answered {code}, expected one of {expected}"


@conformance(
    "GrpcUnknownModelNotFound",
    "The not-found status is exactly NOT_FOUND.",
    level=EXTENDED,
    features=(Feature.GRPC,),
)
def test_unknown_model_not_found(stub: pb_grpc.GRPCInferenceServiceStub, kserve_service: ServedModel) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(
            infer_request(kserve_service.entry.payloads["infer"]["request"], "no-such-model-kserve-conformance"),
            timeout=TIMEOUT_S,
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND, f"unknown model answered {err.value.code()}"
