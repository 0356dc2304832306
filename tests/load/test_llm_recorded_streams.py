"""Real servers' streams, recorded, replayed through the generator's reader: what it makes of them.

The bodies were recorded from vLLM 0.32's OpenAI server and KServe 0.21's huggingface server
(``stream: true``, ``stream_options.include_usage: true``, ``max_tokens: 8``) on the tiny test
model. Replayed one byte-split at a time with synthetic times (10 ms apart), they must give the
figures the definitions say: vLLM's chat stream opens with a role-only chunk that does not end
TTFT; KServe 0.21's chat stream sends no usage chunk although it was asked for one, which the
check reports as a stream defect (``usage_missing``), naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_conformance.load.llm.metrics import Timeline, figures
from kserve_conformance.load.llm.worker import SSEReader, TokenCounter

RECORDED = Path(__file__).parent / "data" / "recorded"
MS = 1_000_000


def replay(name: str) -> Timeline:
    """Each SSE event arrives in its own read, 10 ms after the previous one (the first at 10 ms)."""
    t = Timeline(0, 0, status=200)
    reader = SSEReader(t, TokenCounter(None))
    events = (RECORDED / name).read_bytes().split(b"\n\n")
    for k, event in enumerate(e for e in events if e):
        reader((k + 1) * 10 * MS, event + b"\n\n")
    t.end_ns = t.end_ns or len(events) * 10 * MS
    return t


@pytest.mark.parametrize(
    ("name", "first_content_ms", "chunks", "usage"),
    [
        ("vllm-0.32-completions.sse", 10.0, 8, 8),
        ("vllm-0.32-chat.sse", 20.0, 8, 8),  # event 1 is {"role": "assistant", "content": ""}
        ("kserve-0.21-completions.sse", 10.0, 8, 8),
        ("kserve-0.21-chat.sse", 10.0, 8, None),  # every delta carries role and content; no usage chunk
    ],
)
def test_recorded_streams_give_the_defined_figures(
    name: str, first_content_ms: float, chunks: int, usage: int | None
) -> None:
    t = replay(name)
    f = figures(t, max_tokens=8)
    assert f.outcome == "ok" and t.done, (name, f)
    assert f.ttft_ms == first_content_ms, (name, f.ttft_ms)
    assert f.content_chunks == chunks and t.usage_tokens == usage, (name, f.content_chunks, t.usage_tokens)
    assert f.usage_missing == (usage is None) and not f.usage_impossible and not f.buffered
    assert len(f.itl_ms) == chunks - 1
