"""`TrainConfig`: every training option, typed, with its help text.

Precedence: CLI flags > `--config train.toml` > `[tool.intone.train]` > the defaults below.
Keys are written with dashes in TOML (`lora-r = 16`) and as flags (`--lora-r 16`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from intone.errors import ConfigError


def opt(default: Any, help: str, **extra: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **extra})
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    model: str = opt("embedded", "model: 'embedded' (Gemma 3 270M), a hub id, a local folder or a .gguf file")
    device: str = opt("auto", "auto (mps, then cuda, then cpu), cpu, cuda, cuda:N or mps", choices=("auto", "cpu", "cuda", "mps"))
    dtype: str = opt(
        "auto",
        "compute dtype: auto (bf16 autocast where the CPU/GPU has bf16, else fp32), float32 or bfloat16; "
        "weights, LoRA and optimizer state stay fp32",
        choices=("auto", "float32", "bfloat16"),
    )
    epochs: float = opt(3.0, "passes over the training data (ignored when max-steps is set)")
    max_steps: int = opt(0, "stop after this many optimiser steps (0: use epochs)")
    batch_size: int = opt(4, "examples per forward pass")
    grad_accum: int = opt(1, "forward passes per optimiser step (gradient accumulation)")
    lr: float = opt(2e-4, "peak learning rate")
    schedule: str = opt("cosine", "learning-rate decay after warmup", choices=("cosine", "linear", "constant"))
    warmup_ratio: float = opt(0.05, "share of the steps spent warming up the learning rate")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    max_grad_norm: float = opt(1.0, "clip gradients to this norm (0: off)")
    max_length: int = opt(1024, "longest example in tokens; longer ones are truncated if no trained token is lost")
    drop_long: bool = opt(False, "drop examples whose assistant turn would be truncated (default: refuse to train)")
    train_on: str = opt("all", "assistant turns to train: all, or only the last of each conversation", choices=("all", "last"))
    lora_r: int = opt(16, "LoRA rank")
    lora_alpha: float = opt(32.0, "LoRA alpha (scale = alpha / r)")
    lora_dropout: float = opt(0.05, "dropout on the LoRA input")
    lora_targets: list[str] = opt(  # noqa: RUF009 - opt() returns a dataclass field
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "modules LoRA adapts (comma-separated on the command line)",
    )
    train_tokens: list[str] = opt(  # noqa: RUF009 - opt() returns a dataclass field
        ["auto"],
        "embedding rows trained beside LoRA (tied to the output head): auto (the template's turn "
        "tokens, e.g. <start_of_turn>,<end_of_turn>), none, or token strings; without them a "
        "pretrained model's untrained turn tokens are never learned and replies do not stop",
    )
    token_lr_scale: float = opt(
        10.0, "learning rate of the trained token rows, as a multiple of lr (they start among near-identical twins)"
    )
    seed: int = opt(0, "seed for the data order, the validation split, dropout and LoRA init")
    eval: str | None = opt(None, "eval JSONL file (default: a --val-fraction split of the training data)")
    val_fraction: float = opt(0.1, "share held out for eval loss when --eval is not given (0: no eval)")
    eval_every: int = opt(0, "evaluate every N steps (0: only at the end)")
    save_every: int = opt(0, "save a resumable checkpoint every N steps (0: only at the end or on Ctrl-C)")
    log_every: int = opt(1, "write metrics every N steps")
    force: bool = opt(False, "train even if the linter finds errors")

    def to_toml(self) -> str:
        lines = ["# intone train configuration (CLI > --config > [tool.intone.train] > defaults)"]
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            lines.append(f"{f.name.replace('_', '-')} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


FIELDS = {f.name: f for f in fields(TrainConfig)}


def coerce(name: str, value: Any, where: str) -> Any:
    """Check one value against its field type; `where` names the source for the error."""
    f = FIELDS[name]
    key = name.replace("_", "-")
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    kind = type(default) if default is not None else str
    if kind is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a non-empty list of strings")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
            raise ConfigError(f"{where}: {key} must be a {'whole ' if kind is int else ''}number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {key} must be a finite number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: {key} must not be negative, got {value!r}")
        value = kind(value)
    elif not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    choices = f.metadata.get("choices")
    if choices and value not in choices and not (name == "device" and str(value).startswith("cuda:")):
        raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return value


def from_table(table: dict[str, Any], where: str, base: TrainConfig | None = None) -> TrainConfig:
    cfg = dataclasses.replace(base) if base else TrainConfig()
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in FIELDS:
            known = ", ".join(sorted(n.replace("_", "-") for n in FIELDS))
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {known}")
        setattr(cfg, name, coerce(name, value, where))
    return cfg


def check(cfg: TrainConfig) -> TrainConfig:
    where = "train config"
    for name in ("batch_size", "grad_accum", "max_length", "lora_r", "log_every"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{where}: {name.replace('_', '-')} must be at least 1")
    if not 0 <= cfg.val_fraction < 1:
        raise ConfigError(f"{where}: val-fraction must be in [0, 1), got {cfg.val_fraction}")
    if not 0 <= cfg.warmup_ratio < 1:
        raise ConfigError(f"{where}: warmup-ratio must be in [0, 1), got {cfg.warmup_ratio}")
    if not 0 <= cfg.lora_dropout < 1:
        raise ConfigError(f"{where}: lora-dropout must be in [0, 1), got {cfg.lora_dropout}")
    if cfg.lr <= 0:
        raise ConfigError(f"{where}: lr must be greater than 0, got {cfg.lr}")
    if len(cfg.train_tokens) > 1 and any(t in ("auto", "none") for t in cfg.train_tokens):
        raise ConfigError(f"{where}: train-tokens: 'auto' and 'none' stand alone, got {cfg.train_tokens}")
    if cfg.max_steps == 0 and cfg.epochs <= 0:
        raise ConfigError(f"{where}: give epochs > 0 or max-steps > 0")
    return cfg


def load_config(
    cli: dict[str, Any], config_file: str | None = None, project: dict[str, Any] | None = None,
    project_where: str = "[tool.intone.train]",
) -> TrainConfig:
    """Merge the layers: defaults < [tool.intone.train] < --config file < CLI flags given."""
    cfg = TrainConfig()
    if project:
        cfg = from_table(project, project_where, cfg)
    if config_file:
        from intone.config import load_file

        path = Path(config_file)
        table = load_file(path)
        if path.name == "pyproject.toml":
            table = table.get("train", {})
        cfg = from_table(table, str(path), cfg)
    cfg = from_table({k: v for k, v in cli.items() if v is not None}, "command line", cfg)
    return check(cfg)


def add_arguments(parser) -> None:
    """One flag per field; defaults are None so that only flags given override the files."""
    for f in fields(TrainConfig):
        if f.name == "model":
            continue  # added by the command with its own help
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = ",".join(default) if isinstance(default, list) else default
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
            continue
        kind = type(default) if default is not None and not isinstance(default, list) else str
        parser.add_argument(
            flag,
            type=kind,
            default=None,
            choices=f.metadata.get("choices") if f.name != "device" else None,
            metavar=f.name.upper().replace("_", "-") if not f.metadata.get("choices") else None,
            help=f"{help_text} (default: {shown})" if shown is not None else help_text,
        )
