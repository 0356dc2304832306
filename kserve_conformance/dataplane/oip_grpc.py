"""The V2 gRPC checks' messages: a REST payload as a ModelInferRequest, and an answer's output values.

The messages are ``open-inference-grpc``'s, generated from the protocol's own proto (not the
``kserve`` package's, whose import parses ``sys.argv``).
"""

from __future__ import annotations

from typing import Any

from open_inference.grpc import protocol as pb

from kserve_conformance.dataplane import oip

CONTENTS = {
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "INT64": "int64_contents",
    "INT32": "int_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "BOOL": "bool_contents",
    "UINT64": "uint64_contents",
}


def infer_request(request: dict[str, Any], model: str) -> pb.ModelInferRequest:
    """The V2 REST ``request`` (a payloads' ``infer.request``) as a gRPC ModelInferRequest for ``model``."""
    tensors = []
    for tensor in request["inputs"]:
        values = list(oip.flatten(tensor["data"]))
        contents = pb.InferTensorContents(**{CONTENTS[tensor["datatype"]]: values})
        tensors.append(
            pb.ModelInferRequest.InferInputTensor(
                name=tensor["name"], datatype=tensor["datatype"], shape=tensor["shape"], contents=contents
            )
        )
    return pb.ModelInferRequest(model_name=model, id=request["id"], inputs=tensors)


def output_values(reply: pb.ModelInferResponse, index: int = 0) -> list[Any]:
    """Output ``index``'s values, from the raw contents when the server sent them so, else the typed ones."""
    output = reply.outputs[index]
    if reply.raw_output_contents:
        import numpy as np

        dtype = {"INT64": "<i8", "INT32": "<i4", "FP32": "<f4", "FP64": "<f8"}[output.datatype]
        values: list[Any] = np.frombuffer(reply.raw_output_contents[index], dtype=dtype).tolist()
        return values
    field = CONTENTS.get(output.datatype, "int64_contents")
    return list(getattr(output.contents, field))
