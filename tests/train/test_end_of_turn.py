"""The model learns to stop: P(<end_of_turn>) where the data ends a turn, before and after training.

The tiny model is given the embedded Gemma 3 270M's defect: its `<end_of_turn>` row (tied to
the output head) has 100 near-identical twins (unused tokens), so a frozen head cannot give it
more than about 1/100 of the probability. LoRA alone then cannot teach the model to stop; the
trained token rows (the default `--train-tokens auto`) can.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.cli import main
from tests.train.conftest import END, build_model, build_tokenizer, persona_records, write_jsonl

pytestmark = pytest.mark.timeout(300)
TWINS = range(4, 104)  # <unused4> .. <unused103>: never in the data


@pytest.fixture(scope="module")
def twin_model(tmp_path_factory) -> Path:
    import torch
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("twin-gemma3")
    build_model(folder, build_tokenizer(folder))
    weights = folder / "model.safetensors"
    tensors = load_file(str(weights))
    name = next(k for k in tensors if k.endswith("embed_tokens.weight"))
    emb = tensors[name]
    torch.manual_seed(1)
    for i in TWINS:
        emb[i] = emb[END] + 0.001 * torch.randn_like(emb[END])
    save_file(tensors, str(weights), metadata={"format": "pt"})
    return folder


def median_p_end(model_folder: Path, run: Path | None, data: Path) -> float:
    from intone.train.data import collate, encode, read_conversations
    from intone.train.loss import token_probabilities
    from intone.train.sample import load_for_generation

    loaded = load_for_generation(run, str(model_folder) if run is None else None, "cpu")
    records, _ = read_conversations(data)
    examples = encode(records, loaded.tokenizer, loaded.template, max_length=512).examples
    probs = sorted(token_probabilities(loaded.model, collate(examples, 0), END))
    return probs[len(probs) // 2]


def test_trained_turn_token_rows_teach_the_model_to_stop(tmp_path, twin_model):
    data = write_jsonl(tmp_path / "persona.jsonl", persona_records(24))
    before = median_p_end(twin_model, None, data)
    after = {}
    for rows in ("auto", "none"):
        run = tmp_path / rows
        assert main(["train", str(data), "--model", str(twin_model), "--out", str(run), "--max-steps", "30",
                     "--lr", "1e-2", "--val-fraction", "0", "--dtype", "float32", "--train-tokens", rows]) == 0
        after[rows] = median_p_end(twin_model, run, data)
        manifest = json.loads((run / "manifest.json").read_text())
        expected = [{"token": "<start_of_turn>", "id": 105}, {"token": "<end_of_turn>", "id": END}]
        assert manifest["trained"]["token_rows"] == (expected if rows == "auto" else [])
    assert before < 0.02
    assert after["none"] < 0.05  # LoRA alone: the twins share whatever the head gives <end_of_turn>
    assert after["auto"] > 0.2 and after["auto"] > 20 * before  # 30 tiny steps; the real model: bench/voice_check.py
