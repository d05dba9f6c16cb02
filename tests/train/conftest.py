"""A tiny Gemma3 model and a character tokenizer with Gemma's real special-token ids.

Built once per session in a temp folder, so training tests take seconds. The folder has
config.json, safetensors weights, tokenizer.json and tokenizer_config.json, like any local model.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

PAD, EOS, BOS, UNK, START, END = 0, 1, 2, 3, 105, 106
SPECIALS = {PAD: "<pad>", EOS: "<eos>", BOS: "<bos>", UNK: "<unk>", START: "<start_of_turn>", END: "<end_of_turn>"}
CHARS = string.ascii_letters + string.digits + string.punctuation + " \n\t"


def build_tokenizer(folder: Path) -> int:
    from tokenizers import Tokenizer, decoders, models

    vocab: dict[str, int] = {}
    for i in range(107):
        vocab[SPECIALS.get(i, f"<unused{i}>")] = i
    for ch in CHARS:
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(SPECIALS[i], special=True, normalized=False) for i in sorted(SPECIALS)])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return len(vocab)


def build_model(folder: Path, vocab_size: int, seed: int = 0) -> None:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=512,
        sliding_window=64, initializer_range=0.3, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=[EOS, END],
    )
    Gemma3ForCausalLM(config).save_pretrained(str(folder))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gemma3")
    build_model(folder, build_tokenizer(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from intone.train.template import TextTokenizer

    return TextTokenizer(tiny_model)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def persona_records(n: int = 24) -> list[dict]:
    """Short, learnable conversations: the reply is a fixed phrase plus the asked word."""
    words = ["apple", "river", "stone", "cloud", "ember", "maple", "otter", "plum", "reed", "sage", "tide", "wren"]
    out = []
    for i in range(n):
        word = words[i % len(words)]
        out.append({"messages": [
            {"role": "user", "content": f"Say {word} {i}"},
            {"role": "assistant", "content": f"Well, petal: {word}!"},
        ]})
    return out
