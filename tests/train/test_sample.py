"""sample, chat and merge on a tiny model trained to answer one phrase."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from intone.cli import main
from tests.train.conftest import write_jsonl

pytestmark = pytest.mark.timeout(300)
REPLY = "Well, petal!"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    prompts = ["Say a", "Say b", "Hi", "Hello there", "How are you?", "What now", "Tell me", "Go on"]
    records = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": REPLY}]}
               for p in prompts]
    data = write_jsonl(folder / "const.jsonl", records)
    run = folder / "run"
    code = main(["train", str(data), "--model", str(tiny_model), "--out", str(run), "--max-steps", "60",
                 "--lr", "1e-2", "--val-fraction", "0", "--dtype", "float32"])
    assert code == 0
    return run


def test_sample_uses_the_template_and_stops_at_end_of_turn(trained, capsys):
    # Greedy: the tuned model says its phrase, then <end_of_turn>; without the stop it would ramble
    # on to --max-new-tokens.
    assert main(["sample", str(trained), "--prompt", "Say q", "--temperature", "0", "--max-new-tokens", "80"]) == 0
    assert capsys.readouterr().out == REPLY + "\n"


def test_generate_stops_on_end_of_turn_and_prints_no_template_tokens(trained, monkeypatch):
    from intone.train import decode
    from intone.train.sample import GenerationOptions, generate, load_for_generation

    loaded = load_for_generation(trained, None, "cpu")
    assert loaded.stop_ids == [106, 1]  # <end_of_turn>, <eos>
    assert loaded.decoder is not None  # a merged Gemma 3 on the CPU: intone's own decoder
    calls = []
    original = decode.decode

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append(out)
        return out

    monkeypatch.setattr(decode, "decode", spy)
    text = generate(loaded, (("user", "Hello there"),), GenerationOptions(temperature=0, max_new_tokens=80))
    assert text == REPLY
    assert calls[0][0].stopped and len(calls[0][0].tokens) == len(REPLY)  # stopped right at <end_of_turn>
    sampled = generate(loaded, (("user", "Hi"),), GenerationOptions(temperature=0.8, seed=3, max_new_tokens=20))
    assert "<start_of_turn>" not in sampled and "<end_of_turn>" not in sampled


def test_the_lean_decoder_replies_as_transformers_generate_does(trained):
    # The same greedy replies from intone's decoder and from transformers' generate() (the
    # fallback path for other models), for a batch with left padding and one reply cut short.
    from intone.train.sample import GenerationOptions, generate_batch, load_for_generation

    lean = load_for_generation(trained, None, "cpu", int8=False)  # exact: int8 is tested in test_decode.py
    plain = load_for_generation(trained, None, "cpu")
    plain.decoder = None
    conversations = [(("user", "Hi"),), (("user", "Tell me something rather longer, please"),), (("user", "x"),)]
    for opts in (GenerationOptions(temperature=0, max_new_tokens=40), GenerationOptions(temperature=0, max_new_tokens=5),
                 GenerationOptions(temperature=0, max_new_tokens=30, min_new_tokens=20, repetition_penalty=1.3)):
        assert generate_batch(lean, conversations, opts) == generate_batch(plain, conversations, opts)
    base = GenerationOptions(temperature=0, max_new_tokens=20)
    assert generate_batch(lean, conversations, base, base=True) == generate_batch(plain, conversations, base, base=True)
    assert generate_batch(lean, conversations, base) != generate_batch(lean, conversations, base, base=True)


def test_base_shows_the_untuned_answer_beside(trained, capsys):
    assert main(["sample", str(trained), "--prompt", "Hi", "--base", "--temperature", "0",
                 "--max-new-tokens", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("> Hi\n[tuned]\nWell, petal!\n[base]\n")
    assert out.split("[base]\n")[1].strip() != REPLY


def test_prompts_file_and_bad_lines(trained, tmp_path, capsys):
    prompts = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "Hi"}, {"messages": [{"role": "user", "content": "Go"}]}])
    assert main(["sample", str(trained), "--prompts", str(prompts), "--temperature", "0"]) == 0
    assert capsys.readouterr().out.count(REPLY) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "Hi"}\n{"nope": 1}\n')
    assert main(["sample", str(trained), "--prompts", str(bad)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
    # Non-UTF-8 bytes and a lone surrogate (issue 10.8): named, skipped, the rest answered, exit 2.
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(b'{"prompt": "Hi"}\n{"prompt": "caf\xe9"}\n{"prompt": "x\\udc00"}\n{"prompt": "Go"}\n')
    assert main(["sample", str(trained), "--prompts", str(hostile), "--temperature", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count(REPLY) == 2
    assert "hostile.jsonl:2" in captured.err and "UTF-8" in captured.err
    assert "hostile.jsonl:3" in captured.err and "surrogate" in captured.err
    assert "2 line(s) of --prompts" in captured.err


def test_chat_reads_turns_from_stdin(trained, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello\nHow are you?\n/reset\nHi\n/quit\nnever read\n"))
    assert main(["chat", str(trained), "--temperature", "0", "--max-new-tokens", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Turn 2 sees a two-turn history (never trained on); after /reset the history is one turn again.
    assert len(lines) == 3 and lines[0] == REPLY and lines[2] == REPLY
    assert "<end_of_turn>" not in lines[1]


def test_merge_writes_full_weights_that_match_the_adapter(trained, tmp_path, capsys):
    import torch
    from transformers import AutoModelForCausalLM

    from intone.train.sample import load_for_generation

    out = tmp_path / "merged"
    assert main(["merge", str(trained), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not any("adapter" in n for n in names)
    merged = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    tuned = load_for_generation(trained, None, "cpu").model
    ids = torch.tensor([[2, 105, 150, 160, 106, 107, 105, 151]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, tuned(ids).logits, atol=1e-4)
    assert main(["merge", str(trained), "--out", str(out)]) == 2  # never overwrites


def test_sample_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["sample", str(tmp_path), "--prompt", "Hi"]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_config_toml_of_a_run_round_trips(trained):
    from intone.train.sample import run_config

    cfg = run_config(trained)
    assert cfg.max_steps == 60 and cfg.lr == 1e-2 and cfg.val_fraction == 0
    assert json.loads((trained / "manifest.json").read_text())["model"]["id"] == cfg.model


def test_batched_generation_equals_one_at_a_time_and_says_when_it_stopped(trained):
    from intone.train.sample import GenerationOptions, generate, generate_batch, load_for_generation

    loaded = load_for_generation(trained, None, "cpu")
    conversations = [(("user", "Hi"),), (("user", "Tell me something rather longer, please"),),
                     (("system", "Be kind."), ("user", "Go on"))]
    greedy = GenerationOptions(temperature=0, max_new_tokens=40)
    batch = generate_batch(loaded, conversations, greedy)
    assert [r.text for r in batch] == [generate(loaded, c, greedy) for c in conversations]
    assert batch[0].text == REPLY and batch[0].stopped and batch[0].tokens == len(REPLY)  # char tokens
    cut = generate_batch(loaded, conversations[:1], GenerationOptions(temperature=0, max_new_tokens=4))[0]
    assert cut.tokens == 4 and not cut.stopped and cut.text == REPLY[:4]


def test_chat_streams_the_reply_as_it_is_generated(trained):
    from intone.train.sample import GenerationOptions, generate_batch, load_for_generation

    loaded = load_for_generation(trained, None, "cpu")
    pieces: list[str] = []
    reply = generate_batch(loaded, [(("user", "Hi"),)], GenerationOptions(temperature=0), on_text=pieces.append)[0]
    assert len(pieces) > 3 and "".join(pieces) == reply.text == REPLY


def test_sample_prompts_reports_progress_and_each_reply_on_stderr(trained, tmp_path, capsys):
    prompts = write_jsonl(tmp_path / "p.jsonl", [{"prompt": f"Say {c}"} for c in "abc"])
    assert main(["sample", str(trained), "--prompts", str(prompts), "--temperature", "0", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count(REPLY) == 3
    assert "sample: 2/3 prompts" in captured.err and "sample: 3/3 prompts" in captured.err
    assert captured.err.count(f"({len(REPLY.split())} words, {len(REPLY)} tokens, stopped at end of turn)") == 3


@pytest.mark.parametrize(("temperature", "top_k", "top_p"), [(0.7, 64, 0.95), (1.0, 0, 0.5), (1.3, 5, 1.0)])
def test_the_sampler_draws_from_the_same_distribution_as_transformers(temperature, top_k, top_p):
    import torch
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from intone.train.sample import GenerationOptions, TopKTopPSampler

    torch.manual_seed(0)
    scores = torch.randn(3, 500) * 3
    sampler = TopKTopPSampler(GenerationOptions(temperature=temperature, top_k=top_k, top_p=top_p))
    index, probs = sampler.distribution(scores)
    ours = torch.zeros_like(scores).scatter_(1, index, probs)
    ours = ours / ours.sum(dim=-1, keepdim=True)
    expected = TemperatureLogitsWarper(temperature)(None, scores.clone())
    if top_k:
        expected = TopKLogitsWarper(top_k)(None, expected)
    if top_p < 1:
        expected = TopPLogitsWarper(top_p)(None, expected)
    assert torch.allclose(ours, torch.softmax(expected, dim=-1), atol=1e-6)
    drawn = sampler(None, scores)
    assert (drawn == 0).sum() == 3 and bool((ours.gather(1, drawn.argmax(-1, keepdim=True)) > 0).all())
