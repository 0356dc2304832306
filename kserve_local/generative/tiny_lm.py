"""The tiny language model that stands in for the hub models KServe's generative tests name.

The local target has no network and no weights, so it builds a causal LM here, offline and the
same to the byte on every build: a GPT-2 layout (2 layers, 64 wide, 256 positions, ~215k
parameters, float32) with weights drawn from ``numpy.random.default_rng(seed)`` and a byte-level
BPE tokenizer trained with ``tokenizers`` on ``data/tiny_lm_corpus.txt`` (text written for this
purpose). Every JSON file is written by hand with sorted keys, so the bytes do not depend on the
installed transformers (5.x would write a tokenizer class 4.x cannot read), and every file is
mode 0644 (containers run as non-root). transformers and vLLM both load it as a GPT-2 and agree on
its greedy output, so an expected completion can be computed with either.

Two choices make its output useful to a conformance check: the output head is untied (with tied
embeddings a random tiny GPT-2 repeats its last input token forever), and the head rows of special
tokens and of non-printable byte tokens are zero, so greedy text is varied printable ASCII and
never ends on its own (``finish_reason`` is ``"length"`` unless a stop sequence hits).

Runs inside the generative venv (it needs tokenizers, safetensors and numpy):
``python -m kserve_local.generative.tiny_lm OUT_DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "data" / "tiny_lm_corpus.txt"
BOS, EOS, PAD = "<|bos|>", "<|endoftext|>", "<|pad|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
# One line per message, then the assistant tag: simple enough to tokenize the same everywhere.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
N_EMBD, N_HEAD, N_LAYER, N_POSITIONS, VOCAB_SIZE, SEED = 64, 2, 2, 256, 768, 0


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    path.chmod(0o644)


def build_tokenizer(out: Path, text: str) -> dict[str, Any]:
    """tokenizer.json trained on the corpus, and its config files written by hand."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    special = [EOS, BOS, PAD, *ROLE_TOKENS]  # ids 0..6
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    tok.save(str(out / "tokenizer.json"), pretty=True)
    (out / "tokenizer.json").chmod(0o644)
    ids = {t: tok.token_to_id(t) for t in special}
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": {str(ids[t]): {"content": t, **flags} for t in special},
            "bos_token": BOS,
            "eos_token": EOS,
            "pad_token": PAD,
            "additional_special_tokens": ROLE_TOKENS,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "model_max_length": N_POSITIONS,
        },
    )
    _write_json(
        out / "special_tokens_map.json",
        {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "additional_special_tokens": ROLE_TOKENS},
    )
    banned = []  # never to be generated: special tokens, and bytes that are not printable ASCII
    for i in range(tok.get_vocab_size()):
        piece = tok.decode([i], skip_special_tokens=False)
        if i in ids.values() or not piece or not all(" " <= c <= "~" for c in piece):
            banned.append(i)
    return {"vocab": tok.get_vocab_size(), "bos": ids[BOS], "eos": ids[EOS], "pad": ids[PAD], "banned": banned}


def build_weights(out: Path, vocab: int, banned: list[int]) -> int:
    """GPT2LMHeadModel's checkpoint layout (Conv1D weights are [in, out]), drawn in a fixed order."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(SEED)
    proj_std = 0.02 / (2 * N_LAYER) ** 0.5  # GPT-2's scaled init of residual projections

    def normal(shape: tuple[int, ...], std: float = 0.02) -> Any:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def ones(n: int) -> Any:
        return np.ones(n, np.float32)

    def zeros(n: int) -> Any:
        return np.zeros(n, np.float32)

    e = N_EMBD
    t: dict[str, Any] = {
        "transformer.wte.weight": normal((vocab, e)),
        "transformer.wpe.weight": normal((N_POSITIONS, e), 0.01),
    }
    for i in range(N_LAYER):
        p = f"transformer.h.{i}."
        t |= {
            p + "ln_1.weight": ones(e),
            p + "ln_1.bias": zeros(e),
            p + "attn.c_attn.weight": normal((e, 3 * e)),
            p + "attn.c_attn.bias": zeros(3 * e),
            p + "attn.c_proj.weight": normal((e, e), proj_std),
            p + "attn.c_proj.bias": zeros(e),
            p + "ln_2.weight": ones(e),
            p + "ln_2.bias": zeros(e),
            p + "mlp.c_fc.weight": normal((e, 4 * e)),
            p + "mlp.c_fc.bias": zeros(4 * e),
            p + "mlp.c_proj.weight": normal((4 * e, e), proj_std),
            p + "mlp.c_proj.bias": zeros(e),
        }
    t |= {"transformer.ln_f.weight": ones(e), "transformer.ln_f.bias": zeros(e)}
    head = normal((vocab, e), 1.0)  # untied: see the module docstring
    head[banned] = 0.0  # logit 0 where the best of the other rows is always clearly positive
    t["lm_head.weight"] = head
    save_file(t, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors may leave 0600
    return int(sum(a.size for a in t.values()))


def build(out: Path) -> dict[str, Any]:
    """Write the model into ``out`` (created); returns what was built."""
    out.mkdir(parents=True, exist_ok=True)
    text = CORPUS.read_text(encoding="utf-8")
    tk = build_tokenizer(out, text)
    params = build_weights(out, tk["vocab"], tk["banned"])
    tokens = {"bos_token_id": tk["bos"], "eos_token_id": tk["eos"], "pad_token_id": tk["pad"]}
    _write_json(
        out / "config.json",
        {
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "activation_function": "gelu_new",
            "vocab_size": tk["vocab"],
            "n_positions": N_POSITIONS,
            "n_ctx": N_POSITIONS,
            "n_embd": N_EMBD,
            "n_layer": N_LAYER,
            "n_head": N_HEAD,
            "n_inner": None,
            "layer_norm_epsilon": 1e-05,
            "initializer_range": 0.02,
            "attn_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "resid_pdrop": 0.0,
            "scale_attn_weights": True,
            "tie_word_embeddings": False,
            "use_cache": True,
            "torch_dtype": "float32",
            **tokens,
        },
    )
    _write_json(out / "generation_config.json", tokens)
    return {"dir": str(out), "vocab": tk["vocab"], "params": params, "never_generated_tokens": len(tk["banned"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the tiny stand-in language model.")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(json.dumps(build(args.out_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
