"""With a tokenizer, tokens are counted client-side too, and a disagreement with usage is counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_conformance.testing.known_stream_target import Timing
from tests.load.known_stream import run

tokenizers = pytest.importorskip("tokenizers", reason="the optional tokenizers package is not installed")

pytestmark = pytest.mark.serial


def word_tokenizer(path: Path) -> str:
    """One token per whitespace-separated word: the known target's " t0", " t1", ... are one each."""
    vocab = {"[UNK]": 0, **{f"t{k}": k + 1 for k in range(64)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.save(str(path))
    return str(path)


def test_the_client_count_agrees_with_an_honest_usage_and_flags_a_skewed_one(tmp_path: Path) -> None:
    tokenizer = word_tokenizer(tmp_path / "tokenizer.json")
    honest, _ = run(Timing(), duration_s=1.0, tokenizer=tokenizer)
    assert honest.sent == 20 and honest.flags["client_disagree"] == 0, honest.summary_line()
    assert {r["client_tokens"] for r in honest.records} == {32}
    skewed, _ = run(Timing(usage_delta=2), duration_s=1.0, tokenizer=tokenizer)
    assert skewed.flags["client_disagree"] == 20 and skewed.flags["chunks_disagree"] == 20, skewed.summary_line()
