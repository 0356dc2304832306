"""A GRPCInferenceService that breaks exactly one rule, for the gRPC checks' negative controls.

The real model server behind the local target is KServe's own and cannot be made to lie over
gRPC, so each gRPC check is shown to fail against this stand-in instead. It answers correctly
(the iris classes for the tutorial input) except for the one named defect.
"""

from __future__ import annotations

import sys
from concurrent import futures

import grpc
from open_inference.grpc import protocol as pb
from open_inference.grpc import service as pb_grpc

DEFECTS = (
    "not-live",
    "not-ready",
    "no-metadata",
    "model-not-ready",
    "wrong-metadata-name",
    "no-id-echo",
    "wrong-class",
    "unknown-model-ok",
    "unknown-model-internal",
)


class Broken(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, model: str, defect: str) -> None:
        self.model, self.defect = model, defect

    def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=self.defect != "not-live")

    def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=self.defect != "not-ready")

    def ServerMetadata(self, request, context):
        if self.defect == "no-metadata":
            return pb.ServerMetadataResponse()
        return pb.ServerMetadataResponse(name="broken", version="0")

    def ModelReady(self, request, context):
        return pb.ModelReadyResponse(ready=self.defect != "model-not-ready")

    def ModelMetadata(self, request, context):
        name = "other" if self.defect == "wrong-metadata-name" else request.name
        return pb.ModelMetadataResponse(name=name, platform="")

    def ModelInfer(self, request, context):
        if request.model_name != self.model and self.defect != "unknown-model-ok":
            code = grpc.StatusCode.INTERNAL if self.defect == "unknown-model-internal" else grpc.StatusCode.NOT_FOUND
            context.abort(code, f"model {request.model_name} not found")
        classes = [2, 2] if self.defect == "wrong-class" else [1, 1]
        output = pb.ModelInferResponse.InferOutputTensor(
            name="output-0", datatype="INT64", shape=[2], contents=pb.InferTensorContents(int64_contents=classes)
        )
        return pb.ModelInferResponse(
            model_name=request.model_name, outputs=[output], id="" if self.defect == "no-id-echo" else request.id
        )


def main() -> None:
    model, defect, port_file = sys.argv[1:4]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(Broken(model, defect), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with open(port_file, "w") as out:
        out.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    main()
