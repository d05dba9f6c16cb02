"""`intone train` end to end on the tiny model: learning, the run folder, preflight, resume, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intone.cli import main
from tests.train.conftest import persona_records, write_jsonl

pytestmark = pytest.mark.timeout(300)


def train(*args: str) -> int:
    return main(["train", *args])


def metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]


def adapter_tensors(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


@pytest.fixture
def data(tmp_path) -> Path:
    return write_jsonl(tmp_path / "persona.jsonl", persona_records(24))


def test_loss_goes_down_and_the_run_folder_is_complete(tmp_path, tiny_model, data, capsys):
    run = tmp_path / "run"
    code = train(str(data), "--model", str(tiny_model), "--out", str(run), "--max-steps", "30", "--lr", "2e-2",
                 "--val-fraction", "0.25", "--eval-every", "10")
    assert code == 0
    history = metrics(run)
    losses = [r["loss"] for r in history if "loss" in r]
    evals = [r["eval_loss"] for r in history if "eval_loss" in r]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:3]) / 3
    assert len(evals) == 3 and evals[-1] < evals[0]
    assert all(r["tokens_per_s"] > 0 and r["trainable_tokens"] < r["tokens"] for r in history if "loss" in r)

    assert (run / "adapter" / "adapter_config.json").is_file()
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "max-steps = 30" in (run / "config.toml").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert manifest["dataset"]["sha256"] and manifest["dataset"]["path"] == str(data)
    assert manifest["lint"]["summary"]["errors"] == 0
    assert manifest["model"]["sha256"] and manifest["model"]["kind"] == "folder"
    assert set(manifest["versions"]) >= {"torch", "transformers", "peft"}
    assert manifest["device"]["device"] == "cpu" and manifest["device"]["weights"] == "float32"
    assert manifest["device"]["dtype"] in ("float32", "bfloat16") and manifest["device"]["requested_dtype"] == "auto"
    trained = manifest["trained"]
    assert trained["token_rows"] == [{"token": "<start_of_turn>", "id": 105}, {"token": "<end_of_turn>", "id": 106}]
    assert trained["tied_output_head"] is True and trained["lora"]["r"] == 16
    tokens = manifest["tokens"]
    assert tokens["train_examples"] + tokens["eval_examples"] == 24
    assert 0 < tokens["trainable_tokens"] < tokens["total_tokens"]
    assert manifest["steps"]["done"] == 30 and manifest["final"]["eval_loss"] == evals[-1]
    assert {"train_s", "total_s", "model_load_s", "preflight_s"} <= set(manifest["timings"])
    err = capsys.readouterr().err
    assert "tokens:" in err and "plan: 30 steps" in err


def test_batches_are_length_grouped_and_padded_dynamically(tiny_tokenizer):
    from intone.train.data import Example, collate, plan_epoch
    from intone.train.template import GemmaTemplate, encode_conversations

    lengths = [5 + (i * 37) % 200 for i in range(64)]
    plan = plan_epoch(lengths, 4, seed=1, epoch=0)
    assert sorted(i for batch in plan for i in batch) == list(range(64))
    assert plan == plan_epoch(lengths, 4, seed=1, epoch=0) != plan_epoch(lengths, 4, seed=1, epoch=1)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in plan) / len(plan)
    assert spread < 40  # random batches of 4 would differ by ~100 tokens
    messages = [(("user", "hi"), ("assistant", "a" * n)) for n in (3, 9)]
    encoded = encode_conversations(tiny_tokenizer, GemmaTemplate(), messages)
    batch = collate([Example(i, m, e.input_ids, e.labels) for i, (m, e) in enumerate(zip(messages, encoded))], 0)
    assert batch["input_ids"].shape[1] == len(encoded[1].input_ids)  # the longest, not 512
    assert batch["attention_mask"].sum().item() == sum(len(e.input_ids) for e in encoded)
    assert (batch["labels"][0, len(encoded[0].input_ids):] == -100).all()


def test_preflight_refuses_lint_errors_unless_forced(tmp_path, tiny_model, data, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text() + '{"messages": [{"role": "user", "content": "oops"}\n')
    run = tmp_path / "run"
    assert train(str(bad), "--model", str(tiny_model), "--out", str(run), "--max-steps", "1") == 1
    err = capsys.readouterr().err
    assert "bad.jsonl:25" in err and "--force" in err
    assert not (run / "adapter").exists()
    assert train(str(bad), "--model", str(tiny_model), "--out", str(run), "--max-steps", "1", "--force") == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["lint"]["summary"]["errors"] >= 1
    assert manifest["tokens"]["broken_lines_skipped"] == 1


def test_truncating_an_assistant_turn_is_refused_or_dropped_and_counted(tmp_path, tiny_model, capsys):
    records = persona_records(8) + [{"messages": [{"role": "user", "content": "Tell me a long one"},
                                                  {"role": "assistant", "content": "x" * 80}]}]
    data = write_jsonl(tmp_path / "long.jsonl", records)
    run = tmp_path / "run"
    args = [str(data), "--model", str(tiny_model), "--out", str(run), "--max-steps", "1", "--max-length", "60",
            "--val-fraction", "0"]
    assert train(*args) == 1
    err = capsys.readouterr().err
    assert "long.jsonl:9" in err and "IN311 truncated-assistant-turn" in err and "--drop-long" in err
    assert train(*args, "--drop-long") == 0
    tokens = json.loads((run / "manifest.json").read_text())["tokens"]
    assert tokens["dropped_long"] == 1 and tokens["train_examples"] == 8


def test_resume_matches_an_uninterrupted_run(tmp_path, tiny_model, data, monkeypatch):
    common = [str(data), "--model", str(tiny_model), "--max-steps", "8", "--lr", "1e-2", "--batch-size", "3",
              "--grad-accum", "2", "--eval-every", "3"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train(*common, "--out", str(straight)) == 0

    from intone.train import rundir

    original = rundir.BarReporter.step

    def interrupt_at_3(self, record):
        original(self, record)
        if record["step"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does

    monkeypatch.setattr(rundir.BarReporter, "step", interrupt_at_3)
    assert train(*common, "--out", str(resumed)) == 130
    assert json.loads((resumed / "checkpoint" / "state.json").read_text())["step"] == 3
    assert json.loads((resumed / "manifest.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(rundir.BarReporter, "step", original)
    assert train("--resume", str(resumed)) == 0

    a, b = adapter_tensors(straight), adapter_tensors(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] - b[key]).abs().max().item() < 1e-6, key
    ma, mb = metrics(straight), metrics(resumed)
    assert [r["step"] for r in ma] == [r["step"] for r in mb]
    for ra, rb in zip(ma, mb):
        for key in ("loss", "eval_loss"):
            if key in ra:
                assert abs(ra[key] - rb[key]) < 1e-5
    assert json.loads((resumed / "manifest.json").read_text())["resumed"] == [3]


def test_ctrl_c_in_a_subprocess_leaves_a_checkpoint_that_resumes(tmp_path, tiny_model, data):
    run = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "intone.cli", "train", str(data), "--model", str(tiny_model), "--out", str(run),
           "--max-steps", "100000", "--val-fraction", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            metrics_file = run / "metrics.jsonl"
            if metrics_file.is_file() and len(metrics_file.read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert f"intone train --resume {run}" in err
    step = json.loads((run / "checkpoint" / "state.json").read_text())["step"]
    assert step >= 2
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert train("--resume", str(run), "--max-steps", str(step + 2)) == 0
    assert [r["step"] for r in metrics(run)][-3:] == [step, step + 1, step + 2]


def test_resume_needs_a_checkpoint(tmp_path):
    from intone.cli import UsageError  # noqa: F401 - the CLI turns it into exit 2

    (tmp_path / "config.toml").write_text('model = "embedded"\n')
    assert main(["train", "--resume", str(tmp_path)]) == 2


def _loss_fixture(tiny_model, tiny_tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    from intone.train import loop
    from intone.train.config import TrainConfig
    from intone.train.data import Example, collate
    from intone.train.template import GemmaTemplate, encode_conversations

    conversations = [(("user", "Hi"), ("assistant", "Hello, petal!")),
                     (("user", "Long day?"), ("assistant", "Aye."), ("user", "Tea?"), ("assistant", "Always."))]
    encoded = encode_conversations(tiny_tokenizer, GemmaTemplate(), conversations)
    batch = collate([Example(i, c, e.input_ids, e.labels) for i, (c, e) in enumerate(zip(conversations, encoded))], 0)
    model = loop.setup_model(
        AutoModelForCausalLM.from_pretrained(str(tiny_model)), TrainConfig(lora_dropout=0.0), [105, 106]
    )
    with torch.no_grad():  # make LoRA active (B starts at zero) and the token rows differ from the frozen ones
        for name, p in model.named_parameters():
            if "lora_B" in name or "trainable_tokens_delta" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model, batch, encoded


def test_assistant_loss_matches_the_plain_loss_and_its_gradients(tiny_model, tiny_tokenizer, monkeypatch):
    """Chunked, assistant-only logits give the same loss and gradients as the full-logits loss,
    the trainable token rows included (in the input embedding and, tied, in the output head)."""
    import torch

    from intone.train import loss

    model, batch, encoded = _loss_fixture(tiny_model, tiny_tokenizer)
    reference = model(**batch).loss  # HF: mean over shifted labels != -100
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    assert any("trainable_tokens_delta" in n and g.abs().sum() > 0 for n, g in expected.items())
    model.zero_grad()

    monkeypatch.setattr(loss, "HEAD_CHUNK_BYTES", 4 * 300 * 3)  # 3 rows per chunk: many chunks
    total, n = loss.assistant_loss(model, batch, backward_scale=None)
    assert n == sum(e.n_trainable for e in encoded)
    assert abs(total.item() / n - reference.item()) < 1e-5
    total, n = loss.assistant_loss(model, batch, backward_scale=1.0 / n)
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert torch.allclose(p.grad, expected[name], atol=1e-6), name


def test_bf16_autocast_loss_and_gradients_stay_close_to_fp32(tiny_model, tiny_tokenizer):
    import torch

    from intone.train import loss

    model, batch, _ = _loss_fixture(tiny_model, tiny_tokenizer)
    grads = {}
    for dtype in ("float32", "bfloat16"):
        model.zero_grad()
        total, n = loss.assistant_loss(model, batch, backward_scale=None, dtype=dtype)
        loss.assistant_loss(model, batch, backward_scale=1.0 / n, dtype=dtype)
        grads[dtype] = (total.item() / n, torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
        assert all(p.dtype == torch.float32 for p in model.parameters() if p.requires_grad)
    (loss32, g32), (loss16, g16) = grads["float32"], grads["bfloat16"]
    assert abs(loss16 - loss32) / loss32 < 0.02
    assert torch.nn.functional.cosine_similarity(g32, g16, dim=0) > 0.99


def test_general_head_path_matches_the_in_place_one(tiny_model, tiny_tokenizer):
    """The autograd path (used for soft-capped or bf16 heads) gives the same loss and gradient."""
    import torch

    from intone.train.loss import Head, _head_loss, _head_loss_autograd

    torch.manual_seed(0)
    weight = torch.randn(50, 8)
    head = torch.nn.Linear(8, 50, bias=False)
    head.weight.data.copy_(weight)
    head.weight.requires_grad_(False)
    hidden = torch.randn(11, 8, requires_grad=True)
    targets = torch.randint(0, 50, (11,))
    total, grad, _ = _head_loss(hidden.detach(), Head(weight), targets, 0.5)
    expected = _head_loss_autograd(hidden, head, targets, None, 0.5, "float32", 50)
    assert torch.allclose(total, expected, atol=1e-5)
    assert torch.allclose(grad, hidden.grad, atol=1e-6)


def test_lean_token_rows_give_peft_values_and_gradients(tiny_model, tiny_tokenizer):
    """intone's lookup of the trained token rows equals PEFT's own forward, gradients included."""
    import torch

    model, batch, _ = _loss_fixture(tiny_model, tiny_tokenizer)
    layer = model.get_base_model().get_input_embeddings().token_adapter
    delta = layer.trainable_tokens_delta["default"]
    ids = batch["input_ids"]
    assert bool((ids == 105).any() and (ids == 106).any())
    results = []
    for forward in (layer.forward_adapters, type(layer).forward_adapters.__get__(layer)):
        delta.grad = None
        out = forward(ids, ["default"])
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        results.append((out.detach(), delta.grad.clone()))
    assert layer.forward_adapters is not type(layer).forward_adapters.__get__(layer)
    assert torch.allclose(results[0][0], results[1][0]) and torch.allclose(results[0][1], results[1][1])
