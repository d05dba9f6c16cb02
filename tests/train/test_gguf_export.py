"""intone export-model --format gguf on a tiny random Gemma3: the GGUF read back by transformers
gives the merged PyTorch model's greedy tokens (f16: all of them; q8_0: top-1 on >= 95% of
positions), carries a working tokenizer, the end-of-turn stop and the chat template, and bad input
exits 2 writing nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intone.cli import main
from tests.train.conftest import END, write_jsonl

pytestmark = pytest.mark.timeout(300)
PROMPTS = ["Say q", "Hello there, who are you?", "What is 2+2?"]
N_TOKENS = 20


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model) -> Path:
    # A few steps at a high rate: the adapter moves the weights, and the replies still vary.
    folder = tmp_path_factory.mktemp("gguf-run")
    records = [{"messages": [{"role": "user", "content": f"Say {w}"}, {"role": "assistant", "content": f"Well, {w}!"}]}
               for w in ("apple", "river", "stone", "cloud", "ember", "maple", "otter", "plum")]
    data = write_jsonl(folder / "data.jsonl", records)
    run = folder / "run"
    assert main(["train", str(data), "--model", str(tiny_model), "--out", str(run), "--max-steps", "4",
                 "--lr", "1e-2", "--val-fraction", "0", "--dtype", "float32"]) == 0
    return run


@pytest.fixture(scope="module")
def merged(run):
    from intone.train.export import merged_weights
    from intone.train.sample import load_for_generation

    loaded = load_for_generation(run, None, "cpu")
    return merged_weights(loaded), loaded


@pytest.fixture(scope="module")
def reference(merged):
    """Prompt ids (intone's template) and the merged model's 20 greedy tokens for each prompt."""
    from intone.train.gguf_export import greedy_tokens
    from intone.train.template import prompt_ids

    model, loaded = merged
    out = []
    for text in PROMPTS:
        ids = prompt_ids(loaded.tokenizer, loaded.template, (("user", text),))
        out.append((ids, greedy_tokens(model, ids, N_TOKENS)))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory, run) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gguf-out")
    files = {}
    for qtype in ("f16", "q8_0", "bf16"):
        target = folder / qtype / f"tiny-{qtype}.gguf"
        assert main(["export-model", str(run), "--format", "gguf", "--type", qtype, "--out", str(target)]) == 0
        files[qtype] = target
    return files


def test_f16_gives_the_merged_models_greedy_tokens(exported, reference, tiny_model):
    from intone.train.gguf_export import greedy_tokens, load_gguf_model
    from intone.train.sample import load_for_generation

    model = load_gguf_model(exported["f16"])
    for ids, tokens in reference:
        assert greedy_tokens(model, ids, N_TOKENS) == tokens
    # The adapter is in the weights: the base model answers otherwise.
    base = load_for_generation(None, str(tiny_model), "cpu").model
    assert [greedy_tokens(base, ids, N_TOKENS) for ids, _ in reference] != [tokens for _, tokens in reference]


def _varied(merged) -> list[list[int]]:
    """Each prompt followed by a varied reply: a tiny random model's greedy replies repeat one or
    two tokens, so these sequences test the logits at many different tokens too."""
    from intone.train.template import prompt_ids

    _, loaded = merged
    reply = loaded.tokenizer.encode_batch(["The quick brown fox, 42 times: jumps! Over #7 lazy dogs?"])[0]
    return [prompt_ids(loaded.tokenizer, loaded.template, (("user", text),)) + reply for text in PROMPTS]


def test_f16_logits_match_the_merged_model(exported, merged):
    from intone.train.gguf_export import load_gguf_model, position_logits

    model = load_gguf_model(exported["f16"])
    for ids in _varied(merged):
        want, got = position_logits(merged[0], ids), position_logits(model, ids)
        assert (got - want).abs().max() <= 1e-2 * want.abs().max()  # f16 rounding only
        assert got.argmax(-1).tolist() == want.argmax(-1).tolist()


@pytest.mark.parametrize("qtype", ["q8_0", "bf16"])
def test_quantized_types_agree_on_the_top_token(exported, reference, merged, qtype):
    from intone.train.gguf_export import load_gguf_model, position_logits, top1_matches

    model = load_gguf_model(exported[qtype])
    matches = [m for ids, tokens in reference for m in top1_matches(model, ids, tokens)]
    assert len(matches) == len(PROMPTS) * N_TOKENS
    assert sum(matches) / len(matches) >= 0.95
    varied = [a == b for ids in _varied(merged)
              for a, b in zip(position_logits(model, ids).argmax(-1).tolist(),
                              position_logits(merged[0], ids).argmax(-1).tolist(), strict=True)]
    assert sum(varied) / len(varied) >= 0.95


def test_types_norms_and_metadata(exported, tiny_model):
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    expected = {"f16": {"F16"}, "bf16": {"BF16"}, "q8_0": {"Q8_0"}}
    for qtype, path in exported.items():
        reader = gguf.GGUFReader(str(path))
        kinds = {t.name: t.tensor_type.name for t in reader.tensors}
        assert {k for n, k in kinds.items() if "norm" in n} == {"F32"}
        assert {k for n, k in kinds.items() if "norm" not in n} == expected[qtype]
        assert "output.weight" not in kinds  # tied head
    reader = gguf.GGUFReader(str(exported["f16"]))
    fields = {k: f.contents() for k, f in reader.fields.items()}
    assert fields["general.architecture"] == "gemma3"
    assert fields["tokenizer.ggml.eot_token_id"] == END == 106
    assert fields["tokenizer.ggml.model"] == "llama"
    assert fields["tokenizer.ggml.tokens"][106] == "<end_of_turn>"
    assert fields["tokenizer.chat_template"].startswith("{{ bos_token }}")
    assert fields["gemma3.block_count"] == 2 and fields["gemma3.attention.key_length"] == 16
    assert fields["gemma3.attention.sliding_window"] == 64
    assert fields["general.sampling.top_k"] == 64  # intone sample's default: no probe in this run
    # Norms are stored as 1 + w (llama.cpp's convention for Gemma's RMSNorm); the base model's
    # norms are zeros, and no adapter trains them.
    norm = next(t for t in reader.tensors if t.name == "output_norm.weight")
    base = load_file(str(tiny_model / "model.safetensors"))["model.norm.weight"]
    assert np.allclose(norm.data, base + 1)


def test_the_gguf_tokenizer_encodes_prompts_as_intone_does(exported, merged):
    from transformers import AutoTokenizer

    from intone.train.template import prompt_ids

    _, loaded = merged
    path = exported["f16"]
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    for text in PROMPTS:
        turns = (("user", text),)
        rendered = loaded.template.prompt(turns)
        ids = tok(rendered, add_special_tokens=False)["input_ids"]
        assert ids == prompt_ids(loaded.tokenizer, loaded.template, turns)
        assert tok.decode(ids) == rendered
    # The embedded chat template renders what intone trains on.
    chat = tok.apply_chat_template([{"role": "user", "content": "Say q"}], tokenize=False, add_generation_prompt=True)
    assert chat == loaded.template.prompt((("user", "Say q"),))


_turn_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), _turn_text), max_size=6))
def test_chat_template_renders_as_gemma_template(messages):
    from intone.train.gguf_export import GEMMA_CHAT_TEMPLATE
    from intone.train.template import GemmaTemplate, JinjaTemplate

    jinja = JinjaTemplate(GEMMA_CHAT_TEMPLATE, {"bos_token": "<bos>"})
    gemma = GemmaTemplate()
    turns = tuple(messages)
    assert jinja.render(turns) == "".join(text for text, _ in gemma.segments(turns))
    assert jinja.render(turns, add_generation_prompt=True) == gemma.prompt(turns)


def test_modelfile_template_renders_as_gemma_template_in_go(tmp_path):
    """The Modelfile's TEMPLATE, executed by Go's text/template (what Ollama runs), gives intone's
    prompt for conversations that end with a user turn. Needs a Go toolchain (Debian: golang-go)."""
    import random
    import shutil
    import subprocess

    from intone.train.modelfile import GEMMA_GO_TEMPLATE
    from intone.train.template import BOS, GemmaTemplate

    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain (apt-get install golang-go) to execute the Ollama template")
    binary = tmp_path / "render"
    source = Path(__file__).parent / "ollama_template" / "main.go"
    subprocess.run([go, "build", "-o", str(binary), str(source)], check=True, capture_output=True, timeout=240,
                   env={**os.environ, "GO111MODULE": "off"})
    rng = random.Random(0)
    words = ["hi", "", "a b", "line\nbreak", "{{ x }}", "caf\u00e9", "  spaced  "]
    conversations = [[("system", "be brief")] + [("user", "hello")], [("system", "alone")], [("user", "q")]]
    for _ in range(300):
        turns = [(rng.choice(["system", "user", "assistant"]), rng.choice(words)) for _ in range(rng.randint(0, 5))]
        conversations.append(turns + [("user", rng.choice(words))])
    payload = {"template": GEMMA_GO_TEMPLATE,
               "conversations": [[{"role": r, "content": c} for r, c in turns] for turns in conversations]}
    done = subprocess.run([str(binary)], input=json.dumps(payload), capture_output=True, text=True, check=True,
                          timeout=60)
    gemma = GemmaTemplate()
    for turns, rendered in zip(conversations, json.loads(done.stdout), strict=True):
        assert BOS + rendered == gemma.prompt(tuple(turns)), turns


def test_modelfile_uses_the_probes_best_setting(run, tmp_path, capsys):
    best = {"temperature": 0.4, "top_p": 0.9, "top_k": 20, "repetition_penalty": 1.1, "min_new_tokens": 2,
            "max_new_tokens": 120}
    probe = tmp_path / "probe-elsewhere"
    probe.mkdir()
    (probe / "summary.json").write_text(json.dumps({"best": {"setting_id": "t0.4", "setting": best, "why": "stops"}}))
    out = tmp_path / "out"
    assert main(["export-model", str(run), "--format", "gguf", "--out", str(out), "--probe", str(probe)]) == 0
    target = out / f"{run.name}-f16.gguf"
    assert f"wrote {target}" in capsys.readouterr().out
    text = (out / "Modelfile").read_text()
    assert f"FROM ./{target.name}\n" in text
    assert 'PARAMETER stop "<end_of_turn>"' in text
    for line in ("temperature 0.4", "top_p 0.9", "top_k 20", "repeat_penalty 1.1", "num_predict 120"):
        assert f"PARAMETER {line}\n" in text
    assert "<start_of_turn>user" in text and "<start_of_turn>model" in text and "t0.4" in text
    import gguf

    fields = gguf.GGUFReader(str(target)).fields
    assert fields["general.sampling.top_k"].contents() == 20


def test_modelfile_reads_run_dir_probe_and_defaults(tmp_path):
    from intone.errors import UsageError
    from intone.train.modelfile import choose_sampling

    run = tmp_path / "run"
    assert choose_sampling(run).source.startswith("intone sample's defaults")
    (run / "probe").mkdir(parents=True)
    setting = {"temperature": 0, "top_p": 1, "top_k": 0, "repetition_penalty": 1, "min_new_tokens": 1,
               "max_new_tokens": 64}
    (run / "probe" / "summary.json").write_text(json.dumps({"best": {"setting_id": "greedy", "setting": setting}}))
    chosen = choose_sampling(run)
    assert chosen.temperature == 0 and chosen.max_new_tokens == 64 and "greedy" in chosen.source
    (run / "probe" / "summary.json").write_text('{"best": {"setting": {"temperature": "hot"}}}')
    with pytest.raises(UsageError, match="lacks"):
        choose_sampling(run)
    with pytest.raises(UsageError, match="no summary.json"):
        choose_sampling(run, tmp_path / "nowhere")


def test_modelfile_takes_the_newest_probe_in_its_default_folder(tmp_path):
    """`intone probe` writes RUN_DIR/probe-<time> by default: the newest one is the one used."""
    import os

    from intone.train.modelfile import choose_sampling

    run = tmp_path / "run"
    for name, temperature, when in (("probe-20261201-100000", 0.9, 1_000), ("probe-20261202-100000", 0.6, 2_000)):
        (run / name).mkdir(parents=True)
        setting = {"temperature": temperature, "top_p": 0.95, "top_k": 64, "repetition_penalty": 1.0,
                   "min_new_tokens": 1, "max_new_tokens": 160}
        summary = run / name / "summary.json"
        summary.write_text(json.dumps({"best": {"setting_id": name, "setting": setting}}))
        os.utime(summary, (when, when))
    chosen = choose_sampling(run)
    assert chosen.temperature == 0.6 and "probe-20261202-100000" in chosen.source


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("flags", [["--format", "safetensors"], ["--format", "gguf", "--type", "q4_k_m"]])
def test_unknown_format_or_type_exits_2(run, tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["export-model", str(run), *flags, "--out", str(tmp_path / "out")])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert _files(tmp_path) == []


def test_run_without_adapter_exits_2(tmp_path, capsys):
    from intone.train.config import TrainConfig

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(TrainConfig().to_toml())
    assert main(["export-model", str(run), "--format", "gguf", "--out", str(tmp_path / "out")]) == 2
    assert "no adapter" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(run, tmp_path, capsys):
    out = tmp_path / "m.gguf"
    out.write_bytes(b"keep me")
    assert main(["export-model", str(run), "--format", "gguf", "--out", str(out)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me" and _files(tmp_path) == ["m.gguf"]
    (tmp_path / "m.gguf").unlink()
    (tmp_path / "Modelfile").write_text("mine")
    assert main(["export-model", str(run), "--format", "gguf", "--out", str(out)]) == 2
    assert _files(tmp_path) == ["Modelfile"]
    assert main(["export-model", str(run), "--format", "gguf", "--out", str(out), "--force"]) == 0
    assert _files(tmp_path) == ["Modelfile", "m.gguf"] and (tmp_path / "Modelfile").read_text() != "mine"


def test_onnx_without_the_web_extra_says_how_to_install(run, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert main(["export-model", str(run), "--format", "onnx", "--out", str(tmp_path / "web")]) == 2
    assert "pip install 'intone[web]'" in capsys.readouterr().err
    assert _files(tmp_path) == []
    assert main(["export-model", str(run), "--format", "onnx", "--type", "q8_0", "--out", str(tmp_path / "w")]) == 2
    assert "gguf only" in capsys.readouterr().err


def test_onnx_export_of_a_run_prints_what_it_wrote(run, tmp_path, capsys):
    """The command end to end: merge the run, write the transformers.js folder and chat page, and
    tell the user its sizes and how to open the page."""
    pytest.importorskip("onnxruntime")
    out = tmp_path / "web"
    assert main(["export-model", str(run), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "chat.html loads" in printed and "open it:" in printed
    assert (out / "onnx" / "model.onnx").is_file() and (out / "chat.html").is_file()
    assert "{'" not in printed  # lines for a person, not a dict dump
