"""The known target's token text: numbered by default, one fixed text when the fidelity bench asks.

The peers re-tokenize what they receive, so the bench needs every event to carry one token of their
tokenizer (``--token-text " the"``); the truth must not change with the text.
"""

from __future__ import annotations

import json
import urllib.request

from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import known_target, truth


def streamed_texts(base: str, max_tokens: int) -> list[str]:
    body = json.dumps({"model": "known", "prompt": "x", "max_tokens": max_tokens, "stream": True}).encode()
    request = urllib.request.Request(f"{base}/v1/completions", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        events = [line[6:] for line in resp.read().decode().splitlines() if line.startswith("data: ")]
    return [json.loads(e)["choices"][0]["text"] for e in events if e != "[DONE]"]


def test_tokens_are_numbered_by_default() -> None:
    with known_target(Timing(ttft_ms=1, itl_ms=1)) as base:
        assert streamed_texts(base, 3) == [" t0", " t1", " t2"]


def test_a_fixed_token_text_is_sent_every_time_and_counted_the_same() -> None:
    with known_target(Timing(ttft_ms=1, itl_ms=1, token_text=" the")) as base:
        assert streamed_texts(base, 4) == [" the"] * 4
        stats = truth(base)
    assert (stats["requests"], stats["tokens"], stats["itl_us"]["count"]) == (1, 4, 3)
