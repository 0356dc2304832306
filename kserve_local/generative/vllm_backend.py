"""The Hugging Face runtime's vLLM backend: vLLM's engine behind KServe's OpenAI layer.

KServe's huggingfaceserver runs ``--backend vllm`` (and ``auto`` when vLLM is installed) on vLLM's
engine while keeping its own routes (``/openai/v1/...``); this does the same with the stand-in's
model class: the OpenAI layer and the chat adapter stay KServe's, the tokens come from
``vllm.v1.engine.async_llm.AsyncLLM`` (sampling, seeds, stop strings and their exclusion are
vLLM's). The engine runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), eager (no
torch.compile, whose cache is never reused on CPU), with a 64 MiB KV cache unless
``VLLM_CPU_KVCACHE_SPACE`` says otherwise (vLLM otherwise reserves 92 % of the NUMA node's memory
and refuses to start on this machine).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from kserve_local.generative.generation import Prompting, Sampling, Step

KV_CACHE_BYTES = 64 * 1024 * 1024  # 65,536 tokens of the tiny model: plenty


class VllmGenerator(Prompting):
    """Same interface as :class:`kserve_local.generative.generation.Generator`, on vLLM's engine."""

    def __init__(self, model_dir: Path, dtype: str = "auto", max_model_len: int | None = None) -> None:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoTokenizer
        from vllm import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        kv = {} if os.environ.get("VLLM_CPU_KVCACHE_SPACE") else {"kv_cache_memory_bytes": KV_CACHE_BYTES}
        # A --max_model_len beyond the model's positions is clamped, as the transformers backend
        # does (vLLM refuses to start): KServe's e2e passes 512, the tiny model has 256.
        positions = json.loads((model_dir / "config.json").read_text()).get("n_positions")
        if max_model_len and positions:
            max_model_len = min(max_model_len, int(positions))
        args = AsyncEngineArgs(
            model=str(model_dir),
            dtype="float32" if dtype == "auto" else dtype,
            max_model_len=max_model_len,
            enforce_eager=True,
            **kv,
        )
        self.engine = AsyncLLM.from_engine_args(args)
        self.max_len = int(self.engine.model_config.max_model_len)

    async def astream(self, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Step]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        self.check(prompt_ids, sampling)
        if sampling.max_tokens == 0:  # vLLM refuses 0; the OpenAI reference allows it
            yield Step("", "length", 0)
            return
        params = SamplingParams(
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=list(sampling.stops) or None,
        )
        sent = ""
        prompt = TokensPrompt(prompt_token_ids=prompt_ids)
        async for out in self.engine.generate(prompt, params, f"cmpl-{uuid.uuid4().hex}"):
            result = out.outputs[0]
            if len(result.text) > len(sent):
                yield Step(result.text[len(sent) :], None, len(result.token_ids))
                sent = result.text
            if out.finished:
                yield Step("", result.finish_reason or "length", len(result.token_ids))

    async def complete(self, prompt_ids: list[int], sampling: Sampling) -> Step:
        steps = [step async for step in self.astream(prompt_ids, sampling)]
        return Step("".join(s.text for s in steps), steps[-1].finish_reason, steps[-1].completion_tokens)
