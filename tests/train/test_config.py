"""TrainConfig precedence: CLI > --config file > [tool.intone.train] > defaults; errors name the key."""

from __future__ import annotations

import tomllib

import pytest

from intone.config import ConfigError
from intone.train.config import TrainConfig, from_table, load_config


def test_defaults_have_help_text():
    from dataclasses import fields

    assert all(f.metadata.get("help") for f in fields(TrainConfig))
    assert TrainConfig().lora_targets == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def test_precedence(tmp_path):
    project = {"lr": 1e-3, "lora-r": 4, "epochs": 2}
    file = tmp_path / "train.toml"
    file.write_text("lora-r = 8\nschedule = \"linear\"\n")
    cfg = load_config({"schedule": "constant", "lr": None}, str(file), project)
    assert cfg.lr == 1e-3  # project
    assert cfg.lora_r == 8  # file over project
    assert cfg.schedule == "constant"  # CLI over file
    assert cfg.epochs == 2.0 and isinstance(cfg.epochs, float)
    assert cfg.batch_size == TrainConfig().batch_size  # default


def test_pyproject_section_is_read_by_the_train_command(tmp_path, monkeypatch):
    from intone.config import load_settings

    (tmp_path / "pyproject.toml").write_text("[tool.intone.train]\nlora-r = 2\nlora-targets = [\"q_proj\"]\n")
    settings = load_settings(start=tmp_path)
    cfg = load_config({}, None, settings.train)
    assert cfg.lora_r == 2 and cfg.lora_targets == ["q_proj"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lora_rank": 8}, "unknown key 'lora_rank'"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"batch-size": 2.5}, "batch-size must be a whole number"),
        ({"schedule": "step"}, "schedule must be one of cosine, linear, constant"),
        ({"drop-long": "yes"}, "drop-long must be true or false"),
        ({"lora-targets": []}, "lora-targets must be a non-empty list"),
    ],
)
def test_bad_values_are_named(table, message):
    with pytest.raises(ConfigError, match=message):
        from_table(table, "train.toml")


def test_range_checks():
    with pytest.raises(ConfigError, match="val-fraction"):
        load_config({"val_fraction": 1.5})
    with pytest.raises(ConfigError, match="batch-size must be at least 1"):
        load_config({"batch_size": 0})


def test_to_toml_round_trips():
    cfg = load_config({"lr": 3e-4, "eval": "e.jsonl", "lora_targets": "q_proj,v_proj", "drop_long": True})
    again = from_table(tomllib.loads(cfg.to_toml()), "config.toml")
    assert again == cfg


@pytest.mark.parametrize("flags", [["--epochs", "nan"], ["--epochs", "inf"], ["--lr", "nan"], ["--lr", "0"]])
def test_non_finite_or_zero_numbers_are_usage_errors(tmp_path, capsys, flags):
    from intone.cli import main

    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n')
    assert main(["train", str(data), "--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert flags[0][2:] in err and "Traceback" not in err


def test_max_new_tokens_zero_is_a_usage_error(tmp_path, capsys):
    from intone.cli import main

    assert main(["sample", str(tmp_path), "--prompt", "Hi", "--max-new-tokens", "0"]) == 2
    assert "--max-new-tokens 0: must be at least 1" in capsys.readouterr().err


def test_bf16_on_a_device_without_it_exits_2_naming_the_device(tmp_path, tiny_model, capsys, monkeypatch):
    from intone.cli import main
    from intone.train import device

    monkeypatch.setattr(device, "probe", lambda: device.Probe(cuda=False, mps=False))
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n')
    assert main(["train", str(data), "--model", str(tiny_model), "--out", str(tmp_path / "run"),
                 "--dtype", "bfloat16"]) == 2
    err = capsys.readouterr().err
    assert "--dtype bfloat16" in err and "device cpu" in err and "AVX512-BF16" in err
