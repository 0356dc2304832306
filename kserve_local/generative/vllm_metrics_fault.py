"""vLLM's server with a generation-token counter that misses a token per engine step (``metrics-token-undercount``).

    python -m kserve_local.generative.vllm_metrics_fault vllm.entrypoints.openai.api_server ARGS...

The kubelet runs the vLLM image's command through this module when the fault is on: it patches
prometheus_client's ``Counter.inc`` for the one counter ``vllm:generation_tokens`` (vLLM records
it in the API server's process, the engine being in-process here), then runs the server module
as ``__main__`` with the same arguments. Everything else the server does and exports is vLLM's.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

COUNTER = "vllm:generation_tokens"  # prometheus_client keeps a counter's name without "_total"


def patch() -> None:
    from prometheus_client import Counter

    original = Counter.inc

    def inc(self: Any, amount: float = 1, exemplar: Any = None) -> None:
        if getattr(self, "_name", "") == COUNTER and amount >= 1:
            amount -= 1
        original(self, amount, exemplar)

    Counter.inc = inc  # type: ignore[method-assign]


def main() -> None:
    module, args = sys.argv[1], sys.argv[2:]
    patch()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
