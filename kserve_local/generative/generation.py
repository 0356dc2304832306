"""Token-by-token generation with transformers, as KServe's Hugging Face backend generates.

What the OpenAI checks observe is decided here: temperature 0 is greedy (argmax), any other
temperature samples from a ``torch.Generator`` seeded with the request's ``seed`` (so a seed
gives the same text on repeat), ``max_tokens`` bounds the completion, a stop string ends it and
is not part of the text (``finish_reason: "stop"``), and the token count is what usage reports
(the token that completed a stop string counts, as vLLM counts it).

Streaming is real: :func:`astream` runs the token loop in a thread and hands each piece of text to
the event loop as soon as it is decoded, so the first chunk leaves the server while the rest is
still being generated. Text is held back only while it could be the start of a stop string or
an incomplete UTF-8 character.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

DEFAULT_MAX_TOKENS = 16  # the OpenAI reference's default for completions


class GenerationError(ValueError):
    """A request this model cannot serve as asked (the server answers 400)."""


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stops: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Step:
    """One piece of completion text; the last step has ``finish_reason`` set and no text."""

    text: str
    finish_reason: str | None
    completion_tokens: int


class Prompting:
    """What both backends do before the first token: encode the prompt, render the chat template,
    refuse what cannot finish. Each backend sets ``tokenizer`` (the model's, from transformers) and
    ``max_len`` (its context length) and generates its own way."""

    tokenizer: Any
    max_len: int

    def encode(self, prompt: str | list[int]) -> list[int]:
        if isinstance(prompt, str):
            return list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        return list(prompt)

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def check(self, prompt_ids: list[int], sampling: Sampling) -> None:
        """Refuse before generating, so a stream never starts for a request that cannot finish."""
        if sampling.max_tokens < 0:
            raise GenerationError(f"max_tokens must be at least 0, got {sampling.max_tokens}")
        if len(prompt_ids) + sampling.max_tokens > self.max_len:
            raise GenerationError(
                f"This model's maximum context length is {self.max_len} tokens; the prompt has "
                f"{len(prompt_ids)} tokens and max_tokens is {sampling.max_tokens}."
            )


class Generator(Prompting):
    """A causal LM and its tokenizer, loaded from a directory with transformers."""

    def __init__(self, model_dir: Path, dtype: str = "float32", max_model_len: int | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        torch_dtype = torch.float32 if dtype in ("auto", "float32", "float") else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype)
        self.model.eval()
        positions = int(getattr(self.model.config, "n_positions", 0) or self.tokenizer.model_max_length)
        self.max_len = min(positions, max_model_len) if max_model_len else positions

    def _tokens(self, prompt_ids: list[int], sampling: Sampling) -> Iterator[int]:
        with torch.inference_mode():
            yield from self._sample(prompt_ids, sampling)

    def _sample(self, prompt_ids: list[int], sampling: Sampling) -> Iterator[int]:
        generator = torch.Generator().manual_seed(sampling.seed if sampling.seed is not None else 0)
        ids = torch.tensor([prompt_ids])
        past: Any = None
        for _ in range(sampling.max_tokens):
            out = self.model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1].float()
            if sampling.temperature == 0:
                token = int(torch.argmax(logits))
            else:
                probs = torch.softmax(logits / sampling.temperature, dim=-1)
                if sampling.top_p < 1.0:
                    sorted_p, order = torch.sort(probs, descending=True)
                    keep = torch.cumsum(sorted_p, 0) - sorted_p < sampling.top_p
                    probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
                    probs = probs / probs.sum()
                token = int(torch.multinomial(probs, 1, generator=generator))
            yield token
            ids = torch.tensor([[token]])

    def astream(self, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Step]:
        return astream(self, prompt_ids, sampling)

    async def complete(self, prompt_ids: list[int], sampling: Sampling) -> Step:
        return await complete(self, prompt_ids, sampling)

    def generate(self, prompt_ids: list[int], sampling: Sampling) -> Iterator[Step]:
        """Text as it becomes final, then one step with the finish reason."""
        self.check(prompt_ids, sampling)
        eos = self.tokenizer.eos_token_id
        hold = max((len(s) - 1 for s in sampling.stops if s), default=0)
        out_ids: list[int] = []
        emitted, finish = "", "length"
        for token in self._tokens(prompt_ids, sampling):
            if token == eos:
                finish = "stop"
                break
            out_ids.append(token)
            text = self.tokenizer.decode(out_ids, skip_special_tokens=True)
            if text.endswith("\ufffd"):
                continue  # half a UTF-8 character: wait for the next token
            hit = min((i for i in (text.find(s) for s in sampling.stops if s) if i >= 0), default=-1)
            if hit >= 0:
                finish = "stop"
                if hit > len(emitted):
                    yield Step(text[len(emitted) : hit], None, len(out_ids))
                break
            safe = len(text) - hold  # a tail that could begin a stop string waits
            if safe > len(emitted):
                yield Step(text[len(emitted) : safe], None, len(out_ids))
                emitted = text[:safe]
        else:
            text = self.tokenizer.decode(out_ids, skip_special_tokens=True)
            if len(text) > len(emitted):
                yield Step(text[len(emitted) :], None, len(out_ids))
        yield Step("", finish, len(out_ids))


async def astream(generator: Generator, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Step]:
    """:meth:`Generator.generate` in a thread, each step delivered to the event loop as produced."""
    generator.check(prompt_ids, sampling)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Step | BaseException | None] = asyncio.Queue()
    cancelled = threading.Event()

    def produce() -> None:
        try:
            for step in generator.generate(prompt_ids, sampling):
                if cancelled.is_set():
                    return  # the client went away: stop generating
                loop.call_soon_threadsafe(queue.put_nowait, step)
        except BaseException as err:  # handed to the consumer, raised there
            loop.call_soon_threadsafe(queue.put_nowait, err)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    thread = threading.Thread(target=produce, name="generate", daemon=True)
    thread.start()
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()


async def complete(generator: Generator, prompt_ids: list[int], sampling: Sampling) -> Step:
    """The whole completion as one step (text, finish reason, token count), generated off the loop."""
    steps = await asyncio.to_thread(lambda: list(generator.generate(prompt_ids, sampling)))
    return Step("".join(s.text for s in steps), steps[-1].finish_reason, steps[-1].completion_tokens)
