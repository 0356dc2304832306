"""KServe's Hugging Face runtime on the local target: KServe's own OpenAI layer, a local model.

KServe's ``huggingfaceserver`` is not published as a package, so the image
``kserve-conformance/local-huggingfaceserver`` runs this instead. It is built the way that server
builds its Hugging Face backend: a ``kserve.protocol.rest.openai.OpenAIChatAdapterModel`` served by
``kserve.ModelServer``. Everything a client sees of the protocol is therefore the ``kserve``
package's own: the routes under ``KSERVE_OPENAI_ROUTE_PREFIX`` (default ``/openai``), the V1/V2
routes beside them, request parsing (vLLM's pydantic types), error statuses and bodies, and how
chat requests become completions and completion chunks become chat chunks. What is this module's
is only the model: the chat template is applied with the tokenizer's, and the tokens come from
the backend: ``huggingface`` (and ``auto``) is transformers' token loop (``generation``), ``vllm``
is vLLM's engine (``vllm_backend``), each streamed as produced.

kserve 0.21's layer imports vLLM 0.24's module layout; ``vllm_compat`` aliases the two modules
vLLM 0.32 moved, before the layer is imported.

    python -m kserve_local.generative.huggingface --model_name NAME (--model_id ID | --model_dir DIR)
        [--backend {auto,huggingface,vllm}] [--max_model_len N] [--dtype D] [--http_port P] [--grpc_port G]

Arguments are huggingfaceserver's; the ones it has that do not apply here (``--model_revision``,
``--tensor_parallel_size``, ...) are accepted and named in one log line. ``--model_id`` names a hub
model: one in the stand-in table (``standins``) is served by the tiny model, which the log says;
any other must be a local directory, as the target has no network. ``--backend vllm`` generates
with vLLM's engine (``vllm_backend``) behind the same layer; ``auto`` is the Hugging Face backend.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LOG = logging.getLogger("kserve_local.huggingface")
BACKENDS = ("auto", "huggingface", "vllm")


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(prog="python -m kserve_local.generative.huggingface")
    p.add_argument("--model_name", default="model")
    p.add_argument("--model_id")
    p.add_argument("--model_dir", default="/mnt/models")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--max_model_len", type=int)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--http_port", type=int, default=8080)
    p.add_argument("--grpc_port", type=int, default=8081)
    return p.parse_known_args(argv)


def resolve_model(model_id: str | None, model_dir: str) -> tuple[Path, str]:
    """The directory to load and the log line that says where it came from."""
    from kserve_local.generative import standins

    if model_id:
        standin = standins.lookup(model_id)
        if standin is not None:
            where = standins.ensure_model(sys.executable)
            return where, standin.announcement(where)
        if Path(model_id).is_dir():
            return Path(model_id), f"serving {model_id} (a local directory)"
        raise SystemExit(
            f"huggingface stand-in: cannot fetch {model_id}: the local target has no network and the "
            f"stand-in table ({standins.TABLE.name}) has no entry for it"
        )
    path = Path(model_dir)
    if not (path / "config.json").exists():
        raise SystemExit(f"huggingface stand-in: no model in {path} (no config.json) and no --model_id")
    return path, f"serving the model in {path}"


def build_model(name: str, generator: Any) -> Any:
    """An ``OpenAIChatAdapterModel`` over the generator; kserve imported only here (after the compat)."""
    from kserve.errors import InvalidInput
    from kserve.protocol.rest.openai import ChatPrompt, OpenAIChatAdapterModel
    from kserve.protocol.rest.openai.types import (
        Completion,
        CompletionChoice,
        CompletionChunk,
        CompletionChunkChoice,
        UsageInfo,
    )

    from kserve_local.generative.generation import GenerationError, Sampling

    def sampling(request: Any, seed_offset: int = 0) -> Sampling:
        stop = request.stop
        return Sampling(
            max_tokens=16 if request.max_tokens is None else int(request.max_tokens),
            temperature=1.0 if request.temperature is None else float(request.temperature),
            top_p=1.0 if request.top_p is None else float(request.top_p),
            seed=None if request.seed is None else int(request.seed) + seed_offset,
            stops=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        )

    def usage(prompt: int, completion: int) -> Any:
        return UsageInfo(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)

    class HuggingFaceModel(OpenAIChatAdapterModel):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(name)
            self.ready = True

        def apply_chat_template(self, request: Any) -> Any:
            messages = []
            for m in request.messages:
                content = m.get("content") if isinstance(m, dict) else getattr(m, "content", "")
                if not isinstance(content, str):  # content parts: their text, in order
                    content = "".join(p.get("text", "") for p in content or [])
                role = m.get("role") if isinstance(m, dict) else m.role
                messages.append({"role": role, "content": content})
            return ChatPrompt(prompt=generator.chat_prompt(messages), response_role="assistant")

        async def create_completion(self, request: Any, raw_request: Any = None, context: Any = None) -> Any:
            prompt = request.prompt
            if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):
                if len(prompt) != 1:
                    raise InvalidInput("the local stand-in serves one prompt per request")
                prompt = prompt[0]
            if prompt is None:
                raise InvalidInput("prompt is required")
            if request.echo or request.logprobs:  # (chat sends top_logprobs=0 as logprobs)
                raise InvalidInput("echo and logprobs are not supported by the local stand-in")
            ids = generator.encode(prompt)
            n = 1 if request.n is None else int(request.n)
            completion_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
            try:
                if not request.stream:
                    steps = [await generator.complete(ids, sampling(request, i)) for i in range(n)]
                    return Completion(
                        id=completion_id,
                        created=created,
                        model=request.model or name,
                        choices=[
                            CompletionChoice(index=i, text=s.text, finish_reason=s.finish_reason, logprobs=None)
                            for i, s in enumerate(steps)
                        ],
                        usage=usage(len(ids), sum(s.completion_tokens for s in steps)),
                    )
                if n != 1:
                    raise InvalidInput("n != 1 is not supported with stream=true by the local stand-in")
                params = sampling(request)
                generator.check(ids, params)
            except GenerationError as err:
                raise InvalidInput(str(err)) from err
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            model = request.model or name

            async def stream() -> AsyncIterator[str]:
                tokens = 0
                async for step in generator.astream(ids, params):
                    tokens = step.completion_tokens
                    choice = CompletionChunkChoice(index=0, text=step.text, finish_reason=step.finish_reason)
                    chunk = CompletionChunk(id=completion_id, created=created, model=model, choices=[choice])
                    yield f"data: {chunk.model_dump_json()}\n\n"
                if include_usage:
                    chunk = CompletionChunk(
                        id=completion_id, created=created, model=model, choices=[], usage=usage(len(ids), tokens)
                    )
                    yield f"data: {chunk.model_dump_json()}\n\n"
                yield "data: [DONE]\n\n"

            return stream()

    return HuggingFaceModel()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args, ignored = parse_args(sys.argv[1:] if argv is None else argv)
    if ignored:
        LOG.info("ignoring huggingfaceserver arguments that do not apply to the local stand-in: %s", " ".join(ignored))
    model_dir, origin = resolve_model(args.model_id, args.model_dir)
    from kserve_local.generative import vllm_compat

    vllm_compat.install()  # before anything imports kserve.protocol.rest.openai
    sys.argv = sys.argv[:1]  # kserve's ModelServer parses sys.argv at import time
    import kserve
    import torch

    backend = "vllm" if args.backend == "vllm" else "huggingface"  # auto: the Hugging Face backend here
    if backend == "vllm":
        from kserve_local.generative.vllm_backend import VllmGenerator

        generator: Any = VllmGenerator(model_dir, args.dtype, args.max_model_len)
    else:
        from kserve_local.generative.generation import Generator

        torch.set_num_threads(1)  # one core per request; the machine is shared
        generator = Generator(model_dir, args.dtype, args.max_model_len)
    LOG.info(
        "KServe OpenAI layer kserve %s, backend %s, model %s: %s",
        importlib.metadata.version("kserve"),  # the package has no __version__
        backend,
        args.model_name,
        origin,
    )
    server = kserve.ModelServer(
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        workers=1,
        enable_docs_url=False,
        enable_latency_logging=False,
    )
    server.start([build_model(args.model_name, generator)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
