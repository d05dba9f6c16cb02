"""`intone export --for trl|axolotl|mlx-lm`: the configs, and TRL training on them with intone's mask."""

from __future__ import annotations

import json

import pytest
import yaml

from intone.cli import main
from tests.train.conftest import persona_records, write_jsonl


def records() -> list[dict]:
    """Single turns, a system turn and multi-turn conversations, each with an id."""
    out = persona_records(16)
    out += [
        {"messages": [{"role": "system", "content": "You are Petal."}, {"role": "user", "content": f"Hi {i}"},
                      {"role": "assistant", "content": f"Hello, petal {i}."}]}
        for i in range(3)
    ]
    out += [
        {"messages": [{"role": "user", "content": f"One {i}?"}, {"role": "assistant", "content": f"First {i}."},
                      {"role": "user", "content": f"Two {i}?"}, {"role": "assistant", "content": f" Second {i}!\n"}]}
        for i in range(3)
    ]
    for i, record in enumerate(out):
        record["id"] = f"r{i}"
    return out


def export(tmp_path, trainer, *extra):
    data = write_jsonl(tmp_path / "d.jsonl", records())
    out = tmp_path / f"out-{trainer}"
    assert main(["export", str(data), "--to", str(out), "--for", trainer, "--force", *extra]) == 0
    return out


def conversations(path):
    return [[(m["role"], m["content"]) for m in json.loads(line)["messages"]] for line in path.read_text().splitlines()]


def intone_masks(tiny_tokenizer, convs, train_on="all"):
    from intone.train.template import IGNORE, GemmaTemplate, encode_conversations

    encoded = encode_conversations(tiny_tokenizer, GemmaTemplate(), convs, train_on=train_on)
    return [(e.input_ids, [int(label != IGNORE) for label in e.labels]) for e in encoded]


def hf_tokenizer(tiny_model, template: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = template
    return tokenizer


def trl_masks(tokenizer, convs):
    out = []
    for conv in convs:
        rendered = tokenizer.apply_chat_template(
            [{"role": r, "content": c} for r, c in conv], tokenize=True, return_dict=True,
            return_assistant_tokens_mask=True,
        )
        out.append((list(rendered["input_ids"]), list(rendered["assistant_masks"])))
    return out


def test_trl_sft_trains_one_step_with_intones_mask(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    """Parse sft.yaml as `trl sft` does (unknown keys fail), run TRL's sft script for one step on
    the tiny Gemma3, and compare the tokens it trains on with intone's own labels."""
    import trl
    from trl.scripts import sft

    out = export(tmp_path, "trl")
    assert {"sft.yaml", "gemma_training.jinja", "accelerate_config.yaml", "train.jsonl", "valid.jsonl"} <= {
        p.name for p in out.iterdir()
    }
    config = yaml.safe_load((out / "sft.yaml").read_text())
    assert config["assistant_only_loss"] is True and config["eos_token"] == "<end_of_turn>"
    assert config["chat_template_path"] == str(out / "gemma_training.jinja")
    assert config["use_peft"] is True and (config["lora_r"], config["lora_alpha"]) == (16, 32)
    assert "trl sft --config" in (out / "sft.yaml").read_text()

    parser = sft.make_parser()
    script_args, training_args, model_args, dataset_args = parser.parse_args_and_config(args=[
        "--config", str(out / "sft.yaml"), "--model_name_or_path", str(tiny_model),
        "--output_dir", str(tmp_path / "run"), "--max_steps", "1", "--use_cpu", "true", "--bf16", "false",
        "--gradient_checkpointing", "false", "--save_strategy", "no", "--eval_strategy", "no",
    ])
    assert script_args.dataset_name == str(out) and model_args.lora_target_modules == [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    captured = {}

    class Recording(trl.SFTTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured["trainer"] = self

    monkeypatch.setattr(trl, "SFTTrainer", Recording)
    sft.main(script_args, training_args, model_args, dataset_args)
    trainer = captured["trainer"]
    assert trainer.state.global_step == 1
    assert (tmp_path / "run" / "adapter_config.json").is_file()

    train_convs = conversations(out / "train.jsonl")
    expected = intone_masks(tiny_tokenizer, train_convs)
    dataset = trainer.train_dataset
    assert len(dataset) == len(train_convs)
    end = tiny_tokenizer.token_id("<end_of_turn>")
    for row, conv, (ids, mask) in zip(dataset, train_convs, expected, strict=True):
        assert row["input_ids"] == ids  # same text, same tokens
        # TRL 1.x turns the assistant mask into labels while preparing the dataset: the labels are
        # intone's, i.e. every answer token and its <end_of_turn> trained, nothing else.
        assert row["labels"] == [t if m else -100 for t, m in zip(ids, mask, strict=True)]
        assert sum(1 for t, m in zip(ids, mask, strict=True) if t == end and m) == sum(r == "assistant" for r, _ in conv)
    # The collator turns the mask into labels: the loss sees exactly intone's trained tokens.
    batch = trainer.data_collator([dataset[i] for i in range(4)])
    for k in range(4):
        ids, mask = expected[k]
        labels = batch["labels"][k].tolist()[: len(ids)]
        assert labels == [t if m else -100 for t, m in zip(ids, mask, strict=True)]
    # Every trained assistant turn ends on a trained <end_of_turn>; the newline after it is not trained.
    multi = [i for i, c in enumerate(train_convs) if sum(r == "assistant" for r, _ in c) > 1]
    assert multi, "the fixture must put a multi-turn conversation in train"
    for i in multi:
        ids, mask = expected[i]
        trained_ends = [j for j, t in enumerate(ids) if t == end and mask[j]]
        assert len(trained_ends) == 2 and all(not mask[j + 1] for j in trained_ends if j + 1 < len(ids))


def test_the_written_template_is_intones_and_a_wrong_one_is_caught(tmp_path, tiny_model, tiny_tokenizer):
    """The check above can fail: a template whose generation block leaves out <end_of_turn>
    (or takes in the newline after it) gives a different mask, and TRL's own check agrees."""
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    out = export(tmp_path, "trl")
    template = (out / "gemma_training.jinja").read_text()
    convs = [c for c in conversations(out / "train.jsonl")] + conversations(out / "valid.jsonl")
    good = hf_tokenizer(tiny_model, template)
    assert trl_masks(good, convs) == intone_masks(tiny_tokenizer, convs)
    assert is_chat_template_stop_token_trained(good)
    # Prompts for sampling end with the model's turn header, as intone's do.
    from intone.train.template import GemmaTemplate

    assert good.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True) == \
        GemmaTemplate().prompt([("user", "x")])

    block = "{%- generation -%}{{- message['content'] + '<end_of_turn>' -}}{%- endgeneration -%}"
    assert block in template
    without_end = template.replace(
        block, "{%- generation -%}{{- message['content'] -}}{%- endgeneration -%}{{- '<end_of_turn>' -}}")
    bad = hf_tokenizer(tiny_model, without_end)
    assert trl_masks(bad, convs) != intone_masks(tiny_tokenizer, convs)
    assert not is_chat_template_stop_token_trained(bad)
    with_newline = template.replace(
        block, "{%- generation -%}{{- message['content'] + '<end_of_turn>\\n' -}}{%- endgeneration -%}"
    ).replace("        {{- '\\n' -}}\n", "", 1)
    assert with_newline.count("'\\n' -}}") == template.count("'\\n' -}}") - 1
    assert trl_masks(hf_tokenizer(tiny_model, with_newline), convs) != intone_masks(tiny_tokenizer, convs)


def test_train_on_last_template_trains_only_the_last_answer(tmp_path, tiny_model, tiny_tokenizer):
    from intone.train.handoff import gemma_training_template

    convs = [c for c in (conversations(export(tmp_path, "trl") / "train.jsonl"))]
    tokenizer = hf_tokenizer(tiny_model, gemma_training_template("last"))
    assert trl_masks(tokenizer, convs) == intone_masks(tiny_tokenizer, convs, train_on="last")
    assert trl_masks(tokenizer, convs) != intone_masks(tiny_tokenizer, convs, train_on="all")


def test_axolotl_config_has_the_mask_keys(tmp_path):
    out = export(tmp_path, "axolotl")
    config = yaml.safe_load((out / "axolotl.yaml").read_text())
    (train,) = config["datasets"]
    assert train == {"path": str(out / "train.jsonl"), "ds_type": "json", "type": "chat_template",
                     "field_messages": "messages", "roles_to_train": ["assistant"], "train_on_eos": "turn"}
    (valid,) = config["test_datasets"]
    assert valid["path"] == str(out / "valid.jsonl") and valid["split"] == "train"
    assert valid["roles_to_train"] == ["assistant"] and valid["train_on_eos"] == "turn"
    assert config["eot_tokens"] == ["<end_of_turn>"] and config["chat_template"] == "gemma3"
    assert config["val_set_size"] == 0
    assert config["adapter"] == "lora" and (config["lora_r"], config["lora_alpha"], config["lora_dropout"]) == (16, 32, 0.05)
    assert config["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert (config["sequence_len"], config["micro_batch_size"], config["gradient_accumulation_steps"]) == (1024, 4, 1)
    assert (config["learning_rate"], config["num_epochs"], config["lr_scheduler"]) == (0.0002, 3.0, "cosine")
    assert "accelerate launch -m axolotl.cli.train" in (out / "axolotl.yaml").read_text()


def test_mlx_config_has_the_mask_and_derived_iters(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.intone.train]\nlora-r = 8\nlora-alpha = 24\nbatch-size = 3\nepochs = 2\nlr = 1e-5\n")
    out = export(tmp_path, "mlx-lm")
    config = yaml.safe_load((out / "lora.yaml").read_text())
    n_train = len((out / "train.jsonl").read_text().splitlines())
    assert config["mask_prompt"] is True and config["data"] == str(out) and config["train"] is True
    assert config["fine_tune_type"] == "lora"
    assert config["lora_parameters"] == {
        "keys": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
        "rank": 8, "scale": 3.0, "dropout": 0.05}
    assert config["iters"] == -(-2 * n_train // 3) and config["batch_size"] == 3
    assert config["learning_rate"] == 1e-5 and isinstance(config["learning_rate"], float)  # not the string "1e-05"
    assert config["max_seq_length"] == 1024
    assert "mlx_lm.lora --config" in (out / "lora.yaml").read_text()
    assert "trains only" in (out / "lora.yaml").read_text()  # the multi-turn caveat is said


def test_unknown_trainer_exits_2_and_writes_nothing(tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", records())
    with pytest.raises(SystemExit) as exc:
        main(["export", str(data), "--to", str(tmp_path / "o"), "--for", "unsloth"])
    assert exc.value.code == 2
    assert "--for" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_existing_config_is_refused_without_force(tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", persona_records(20))
    out = tmp_path / "o"
    out.mkdir()
    (out / "sft.yaml").write_text("mine\n")
    assert main(["export", str(data), "--to", str(out), "--for", "trl"]) == 2
    assert "sft.yaml" in capsys.readouterr().err
    assert (out / "sft.yaml").read_text() == "mine\n"
    assert not (out / "train.jsonl").exists() and not (out / "gemma_training.jinja").exists()  # nothing written
    assert main(["export", str(data), "--to", str(out), "--for", "trl", "--force"]) == 0
    assert "assistant_only_loss: true" in (out / "sft.yaml").read_text()
    # Without --for, an export beside an old config leaves it alone.
    assert main(["export", str(data), "--to", str(tmp_path / "plain")]) == 0
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["train.jsonl", "valid.jsonl"]


def test_mixed_field_types_are_warned_about(tmp_path, capsys):
    rows = persona_records(20)
    for i, row in enumerate(rows):
        row["id"] = i if i % 2 else f"r{i}"
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    assert main(["export", str(data), "--to", str(tmp_path / "o"), "--for", "trl"]) == 0
    assert "field 'id' is int and str" in capsys.readouterr().err


def test_trl_config_without_a_valid_split_reads_train_alone(tmp_path):
    """datasets.load_dataset(DIR) fails on an empty valid.jsonl, so the config names train.jsonl."""
    from trl import get_dataset
    from trl.scripts import sft

    out = export(tmp_path, "trl", "--valid-fraction", "0")
    assert (out / "valid.jsonl").read_text() == ""
    script_args, training_args, _, dataset_args = sft.make_parser().parse_args_and_config(
        args=["--config", str(out / "sft.yaml"), "--output_dir", str(tmp_path / "run"), "--use_cpu", "true",
              "--bf16", "false"])
    assert script_args.dataset_name is None and training_args.eval_strategy == "no"
    dataset = get_dataset(dataset_args)
    assert dataset["train"]["messages"] == [json.loads(x)["messages"] for x in (out / "train.jsonl").read_text().splitlines()]
