"""The endpoint picker (llm-d's EPP) for InferencePool backends, as its default scorers pick.

The Gateway API Inference Extension has the gateway ask an endpoint picker which pool member
serves each request; the picker answers with the ``x-gateway-destination-endpoint`` header, the
endpoint as ``<ip>:<port>`` (the extension's "Endpoint Picker Protocol"). llm-d's scheduler
scores every candidate and picks the highest weighted sum; its default profile weighs:

- prefix-cache (3): the share of the prompt's leading blocks this endpoint served last, so
  requests that share a prompt prefix stay on the pod whose KV cache holds it (blocks of 64
  characters here, hashed as a chain: a block matches only with everything before it);
- queue (2): fewer waiting requests is better, from the pod's own ``vllm:num_requests_waiting``;
- KV-cache utilization (2): a less full cache is better, from ``vllm:kv_cache_usage_perc``.

The load figures are the pods' own vLLM metrics, scraped from their ``/metrics`` when older than
a refresh interval (EPP refreshes every 50 ms; 200 ms here); requests this gateway has in flight
to a pod break ties. The gateway also returns the header on the response (the protocol defines
only the request side; this is the target's choice), so a client can see which pod answered.

With ``round_robin`` (the ``llmisvc-picker-prefix-blind`` fault) it scores nothing and hands the
pool's endpoints out in turn, as a plain Service's balancing would: requests sharing a prefix
are spread over the pods, deterministically.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import random
import time
from dataclasses import dataclass, field

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

HEADER = "x-gateway-destination-endpoint"
BLOCK_CHARS = 64
MAX_BLOCKS = 50_000  # the prefix index's capacity (LRU), per gateway
WEIGHTS = {"prefix": 3.0, "queue": 2.0, "kv": 2.0}
REFRESH_S = 0.2
SCRAPE_TIMEOUT_S = 1.0
WAITING = "vllm:num_requests_waiting"
KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")


@dataclass(frozen=True)
class Endpoint:
    pod: str
    address: str  # ip:port, as the protocol's header carries it

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


@dataclass
class Load:
    waiting: float = 0.0
    kv_usage: float = 0.0
    at: float = 0.0


def prompt_text(body: bytes) -> str:
    """What the request's prompt is (completions' ``prompt``, chat's message contents)."""
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        data = json.loads(body)
        if isinstance(data, dict):
            if isinstance(data.get("prompt"), str):
                return str(data["prompt"])
            if isinstance(data.get("prompt"), list):
                return "".join(str(p) for p in data["prompt"])
            messages = data.get("messages")
            if isinstance(messages, list):
                return "".join(f"{m.get('role', '')}:{m.get('content', '')}" for m in messages if isinstance(m, dict))
    return ""


def block_hashes(text: str) -> list[str]:
    """Chained hashes of the prompt's whole blocks: block i's hash covers blocks 0..i."""
    hashes, previous = [], ""
    for start in range(0, len(text) - BLOCK_CHARS + 1, BLOCK_CHARS):
        previous = hashlib.sha256((previous + text[start : start + BLOCK_CHARS]).encode()).hexdigest()
        hashes.append(previous)
    return hashes


@dataclass
class Picker:
    """One per gateway: the prefix index and the pods' load, shared by every pool."""

    _prefixes: collections.OrderedDict[str, set[str]] = field(default_factory=collections.OrderedDict)
    _load: dict[str, Load] = field(default_factory=dict)
    inflight: collections.Counter[str] = field(default_factory=collections.Counter)
    round_robin: bool = False
    _turn: int = 0

    async def pick(self, session: aiohttp.ClientSession, endpoints: list[Endpoint], body: bytes) -> Endpoint:
        if self.round_robin:
            self._turn += 1
            return sorted(endpoints, key=lambda e: e.address)[self._turn % len(endpoints)]
        blocks = block_hashes(prompt_text(body))
        await self._refresh(session, endpoints)
        waiting = {e.address: self._load.get(e.address, Load()).waiting for e in endpoints}
        most_waiting = max(waiting.values(), default=0.0)

        def score(endpoint: Endpoint) -> tuple[float, float, float]:
            matched = 0
            for block in blocks:
                if endpoint.address not in self._prefixes.get(block, ()):
                    break
                matched += 1
            prefix = matched / len(blocks) if blocks else 0.0
            queue = 1.0 - waiting[endpoint.address] / most_waiting if most_waiting else 1.0
            kv = 1.0 - self._load.get(endpoint.address, Load()).kv_usage
            total = WEIGHTS["prefix"] * prefix + WEIGHTS["queue"] * queue + WEIGHTS["kv"] * kv
            return (round(total, 6), -self.inflight[endpoint.address], random.random())

        chosen = max(endpoints, key=score)
        for block in blocks:
            self._prefixes.setdefault(block, set()).add(chosen.address)
            self._prefixes.move_to_end(block)
        while len(self._prefixes) > MAX_BLOCKS:
            self._prefixes.popitem(last=False)
        return chosen

    async def _refresh(self, session: aiohttp.ClientSession, endpoints: list[Endpoint]) -> None:
        stale = [e for e in endpoints if time.monotonic() - self._load.get(e.address, Load()).at > REFRESH_S]
        if stale:
            await asyncio.gather(*(self._scrape(session, e) for e in stale))

    async def _scrape(self, session: aiohttp.ClientSession, endpoint: Endpoint) -> None:
        load = Load(at=time.monotonic())
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
            timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
            async with session.get(f"http://{endpoint.address}/metrics", timeout=timeout) as response:
                text = await response.text()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == WAITING:
                        load.waiting += sample.value
                    elif sample.name in KV_USAGE:
                        load.kv_usage = max(load.kv_usage, sample.value)
        self._load[endpoint.address] = load
