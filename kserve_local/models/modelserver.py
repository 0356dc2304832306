"""A real KServe model server process for one scikit-learn model: V1 and V2 REST, V2 gRPC.

Protocol handling (routes, status codes, error bodies, V2 tensors, gRPC) is the ``kserve``
package's own ``ModelServer``; this module only loads the model the way KServe's sklearnserver
does (the single ``.joblib``/``.pkl``/``.pickle`` file in the model directory) and implements
the model-server faults the negative-control self-tests inject.

    python -m kserve_local.models.modelserver --model-name NAME --model-dir DIR \\
        --http-port P --grpc-port G [--fault NAME]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kserve_local.faults import MODEL_SERVER, Fault, named
from kserve_local.models.loading import ModelLoadError

if TYPE_CHECKING:
    from kserve_local.models.sklearn_model import SKLearnModel


def build_model(name: str, model_dir: Path, faults: frozenset[Fault]) -> SKLearnModel:
    """A ``kserve.Model`` for the estimator in ``model_dir``; imported lazily (kserve is slow to import)."""
    from kserve_local.models.sklearn_model import SKLearnModel

    return SKLearnModel(name, model_dir, faults)


def quiet_per_request_logging() -> None:
    """No log line, trace line or warning per request: on a 2-core machine they cost the CPU that
    the tutorial's 500 requests/s need (KServe's own ``--enable_latency_logging=false`` and the
    access log's level). Errors are still logged. FastAPI's deprecation warning for the response
    class kserve 0.21 uses (ORJSONResponse) is about KServe's code, not the model, and is
    silenced: a "once" filter did not hold it to one line (measured: a line per request)."""
    import logging
    import warnings

    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # KServe's REST server times every request with timing-asgi and logs both figures (wall, cpu)
    # to kserve.trace, whatever --enable_latency_logging says: two lines per request.
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)
    warnings.filterwarnings("once", category=DeprecationWarning)
    # FastAPI's own deprecation warning is a UserWarning subclass: named by its message.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kserve_local.models.modelserver")
    p.add_argument("--model-name", required=True)
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--fault", action="append", default=[], choices=sorted(MODEL_SERVER))
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # kserve's ModelServer parses sys.argv at import time: hand it only its program name.
    sys.argv = sys.argv[:1]
    faults = frozenset(named(f) for f in args.fault)
    model = build_model(args.model_name, args.model_dir, faults)
    try:
        model.load()
    except ModelLoadError as err:
        print(f"model server: {err}", file=sys.stderr)
        return 1
    import kserve

    from kserve_local.models import metrics_faults

    metrics_faults.install(faults)
    print(
        f"model server: serving {args.model_name} on http :{args.http_port}, grpc :{args.grpc_port}",
        file=sys.stderr,
        flush=True,
    )
    server = kserve.ModelServer(
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        workers=1,
        enable_grpc=True,
        enable_docs_url=False,
        enable_latency_logging=False,
    )
    quiet_per_request_logging()
    server.start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
