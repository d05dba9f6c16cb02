"""`export_onnx`: the transformers.js folder, token for token against PyTorch, and its chat page.

Needs the web extra (`make install` installs it); the page test also needs Debian's chromium and
transformers.js from `npm ci --prefix web` (also `make install`), and says which is missing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="the web extra is not installed: pip install 'intone[web]'")

from intone.errors import UsageError
from intone.train import chat_page, onnx_export
from intone.train.onnx_export import export_onnx, greedy_tokens
from intone.train.sample import GenerationOptions
from intone.train.template import GemmaTemplate, prompt_ids
from tests.train.conftest import build_tokenizer

CONVERSATIONS = [
    [("user", "Say apple 3")],
    [("system", "Be brief."), ("user", "Hi there, how are you?")],
    [("user", "Name a river"), ("assistant", "Well, petal: river!"), ("user", "And a stone?")],
]


def torch_greedy(model_dir: Path, ids: list[int], n: int) -> list[int]:
    """PyTorch's greedy tokens, no stop token: each step re-reads the whole sequence (no cache)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    sequence = list(ids)
    with torch.no_grad():
        for _ in range(n):
            sequence.append(int(model(torch.tensor([sequence])).logits[0, -1].argmax()))
    return sequence[len(ids):]


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("onnx") / "tiny-web"
    return out, export_onnx(tiny_model, out)


@pytest.fixture(scope="module")
def sliding_model(tmp_path_factory) -> Path:
    """Four sliding-window layers with a window of 4: 20 new tokens go well past it."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    folder = tmp_path_factory.mktemp("sliding-gemma3")
    vocab = build_tokenizer(folder)
    torch.manual_seed(1)
    config = Gemma3TextConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=512, sliding_window=4, initializer_range=0.02,
        pad_token_id=0, bos_token_id=2, eos_token_id=[1, 106],
    )
    Gemma3ForCausalLM(config).save_pretrained(str(folder))
    return folder


def test_greedy_tokens_under_onnxruntime_equal_pytorch(exported, tiny_model, tiny_tokenizer):
    out, _ = exported
    for messages in CONVERSATIONS:
        ids = prompt_ids(tiny_tokenizer, GemmaTemplate(), messages)
        assert greedy_tokens(out, ids, 20) == torch_greedy(tiny_model, ids, 20)


def test_greedy_tokens_equal_past_the_sliding_window(sliding_model, tmp_path, tiny_tokenizer):
    out = tmp_path / "sliding-web"
    export_onnx(sliding_model, out, variants=("fp32",))
    assert not (out / "onnx" / "model_q4.onnx").exists()
    replies = []
    for messages in CONVERSATIONS:
        ids = prompt_ids(tiny_tokenizer, GemmaTemplate(), messages)
        reply = greedy_tokens(out, ids, 20)
        assert reply == torch_greedy(sliding_model, ids, 20)
        replies.append(reply)
    assert len({t for reply in replies for t in reply}) > 3  # a model that says one token proves little


def test_folder_is_what_transformers_js_loads(exported):
    import onnx

    out, result = exported
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "onnx/model.onnx", "onnx/model_q4.onnx", "chat.html"):
        assert (out / name).is_file(), name
    assert 106 in json.loads((out / "generation_config.json").read_text())["eos_token_id"]
    graph = onnx.load(str(out / "onnx" / "model.onnx"), load_external_data=False).graph
    inputs, outputs = [i.name for i in graph.input], [o.name for o in graph.output]
    assert inputs == ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                      "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]
    assert outputs[:3] == ["logits", "present.0.key", "present.0.value"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folder left

    assert result["path"] == str(out.resolve())
    assert result["total_bytes"] == sum(result["files"].values())
    assert result["page_loads"] == "fp32"  # wasm has no fast 4-bit kernel; ?dtype=q4 loads the small one
    assert result["q4_embedding"] == "shared with the 4-bit LM head"
    q4 = result["variants"]["q4"]["made_of"]
    assert "embedding" not in q4 and q4["embedding_and_lm_head"] > 0  # the table is stored once
    fp32 = result["variants"]["fp32"]["made_of"]
    assert fp32["embedding_and_lm_head"] > 0 and "lm_head" not in fp32  # the tied head is not copied


def test_q4_keeps_the_greedy_tokens_mostly(exported, tiny_tokenizer):
    out, _ = exported
    same = total = 0
    for messages in CONVERSATIONS:
        ids = prompt_ids(tiny_tokenizer, GemmaTemplate(), messages)
        fp32, q4 = greedy_tokens(out, ids, 20), greedy_tokens(out, ids, 20, variant="q4")
        same += sum(a == b for a, b in zip(fp32, q4))
        total += len(fp32)
    assert same / total >= 0.8


def test_q4_embedding_rows_are_the_heads_4_bit_rows(exported):
    """The q4 graph's embedding output is the fp32 table's rows, within a 4-bit step (half a step of
    rounding, and up to half a step more where the rounded zero point clips a block's end)."""
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import numpy_helper

    out, _ = exported
    fp32 = onnx.load(str(out / "onnx" / "model.onnx"))
    table = next(numpy_helper.to_array(t) for t in fp32.graph.initializer if t.name.endswith("embed_tokens.weight"))
    q4 = onnx.load(str(out / "onnx" / "model_q4.onnx"))
    rows_name = next(n.output[0] for n in q4.graph.node if n.op_type == "Reshape" and n.input[1].endswith("row_shape"))
    q4.graph.output.append(onnx.helper.make_tensor_value_info(rows_name, onnx.TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(q4.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = [2, 105, 120, 150, 106]
    feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), np.int64),
            "position_ids": np.arange(len(ids))[None]}
    feed |= {i.name: np.zeros((1, 1, 0, 16), np.float32) for i in session.get_inputs() if i.name.startswith("past")}
    rows = session.run([rows_name], feed)[0][0]
    block = onnx_export.Q4_BLOCK
    blocks = table[ids].reshape(len(ids), -1, block)
    step = ((np.maximum(blocks.max(-1), 0) - np.minimum(blocks.min(-1), 0)) / 15)[..., None]
    error = np.abs(rows.reshape(blocks.shape) - blocks)
    assert (error <= step * 1.001 + 1e-6).all() and error.mean() < step.mean() / 2


def test_existing_output_is_refused_then_replaced_with_force(tiny_model, tmp_path):
    out = tmp_path / "web"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="--force"):
        export_onnx(tiny_model, out, variants=("fp32",))
    assert (out / "keep.txt").read_text() == "mine"
    export_onnx(tiny_model, out, force=True, variants=("fp32",))
    assert not (out / "keep.txt").exists() and (out / "onnx" / "model.onnx").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]


def test_a_failed_export_leaves_nothing(tiny_model, tmp_path, monkeypatch):
    def fail(*_args):
        raise RuntimeError("tracing failed")

    monkeypatch.setattr(onnx_export, "export_fp32", fail)
    with pytest.raises(RuntimeError, match="tracing failed"):
        export_onnx(tiny_model, tmp_path / "web")
    assert list(tmp_path.iterdir()) == []


def test_missing_web_extra_says_how_to_install(tiny_model, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(UsageError, match=r"pip install 'intone\[web\]'"):
        export_onnx(tiny_model, tmp_path / "web")
    assert not (tmp_path / "web").exists()


def test_not_a_model_folder(tmp_path):
    with pytest.raises(UsageError, match="config.json"):
        export_onnx(tmp_path, tmp_path / "web")


def test_without_transformers_js_the_export_says_the_npm_command(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(chat_page, "node_modules_candidates", lambda: [tmp_path / "nowhere"])
    result = export_onnx(tiny_model, tmp_path / "web", variants=("fp32",))
    assert result["web_runtime"] is None
    assert any("npm " in w and chat_page.NODE_MODULES_ENV in w for w in result["warnings"])
    assert (tmp_path / "web" / "chat.html").is_file() and not (tmp_path / "web" / "web").exists()


def test_page_settings_carry_the_template_and_the_end_of_turn_stop(exported):
    out, _ = exported
    html = (out / "chat.html").read_text()
    settings = json.loads(html.split("const SETTINGS = ", 1)[1].split(";\n", 1)[0])
    assert settings["stop_ids"] == [106] and settings["dtype"] == "fp32" and settings["available"] == ["fp32", "q4"]
    assert settings["template"] == {"bos": "<bos>", "start": "<start_of_turn>", "end": "<end_of_turn>"}
    assert settings["sampling"]["temperature"] == GenerationOptions().temperature  # as `intone chat` samples
    assert not re.findall(r"https?://(?!127\.0\.0\.1[:/])", html)  # nothing loads from outside the folder


def test_chat_page_in_headless_chromium(exported, tiny_model, tiny_tokenizer):
    """The page renders the training template's segments, tokenizes them as the trainer does, and
    generates in the browser the tokens PyTorch generates (fp32), or onnxruntime's q4 ones (?dtype=q4)."""
    if chat_page.chromium_binary() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    out, result = exported
    if result["web_runtime"] is None:
        pytest.skip(f"no local transformers.js: {chat_page.NPM_INSTALL}")
    ids = prompt_ids(tiny_tokenizer, GemmaTemplate(), CONVERSATIONS[0])
    with chat_page.serve_folder(out) as base, chat_page.Chromium(timeout=60) as browser:
        browser.open(base + "chat.html")
        assert browser.wait_for("window.intone && window.intone.ready", timeout=90)
        for messages in CONVERSATIONS:
            js = json.dumps([{"role": r, "content": c} for r, c in messages])
            segments = browser.evaluate(f"window.intone.promptSegments({js})")
            python = [text for text, _ in GemmaTemplate().segments(messages)] + ["<start_of_turn>model\n"]
            assert segments == python
        reply = browser.evaluate("window.intone.send('Say apple 3', {max_new_tokens: 12, temperature: 0})", timeout=120)
        assert reply["dtype"] == "fp32" and reply["prompt_ids"] == ids
        assert reply["tokens"] > 0 and reply["tokens_per_second"] > 0
        assert reply["token_ids"] == torch_greedy(tiny_model, ids, 12)[: reply["tokens"]]
        assert browser.evaluate("document.querySelector('#log .model').textContent") == reply["reply"]

        browser.open(base + "chat.html?dtype=q4")
        browser.wait_for("window.intone && window.intone.dtype === 'q4' && window.intone.ready", timeout=90)
        reply = browser.evaluate("window.intone.send('Say apple 3', {max_new_tokens: 12, temperature: 0})", timeout=120)
        assert reply["dtype"] == "q4"
        assert reply["token_ids"] == greedy_tokens(out, ids, reply["tokens"], variant="q4")
