"""`intone export --for trl|axolotl|mlx-lm`: a ready config for another trainer, beside the splits.

Each config carries intone's LoRA settings (`TrainConfig`: [tool.intone.train] or the defaults)
and the one loss mask intone trains with: assistant content and its `<end_of_turn>`, nothing else.
Key names were checked against TRL 1.16.0 (transformers 5.24.0), axolotl 0.19.0 and mlx-lm 0.32.2.

Nothing here imports a trainer; the files are text, written by `export`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from intone.train.config import TrainConfig

TRAINERS = ("trl", "axolotl", "mlx-lm")
CHECKED = {
    "trl": "TRL 1.16.0 with transformers 5.24.0",
    "axolotl": "axolotl 0.19.0",
    "mlx-lm": "mlx-lm 0.32.2",
}
# The hub id of the model intone embeds (a GGUF copy of it); other trainers load it from the hub.
EMBEDDED_HUB_ID = "google/gemma-3-270m-it"
TEMPLATE_FILE = "gemma_training.jinja"


class HandoffError(ValueError):
    pass


@dataclass(frozen=True)
class SplitFacts:
    """What the configs need to know about the written splits."""

    to: Path  # absolute
    counts: dict[str, int]  # split -> records
    multi_assistant: int  # training records with more than one assistant turn


def files_for(trainer: str, cfg: TrainConfig, facts: SplitFacts, source: str) -> dict[str, str]:
    """File name (in `facts.to`) -> text, for `trainer`."""
    if trainer not in TRAINERS:
        raise HandoffError(f"--for {trainer!r}: expected one of {', '.join(TRAINERS)}")
    model = EMBEDDED_HUB_ID if cfg.model == "embedded" else cfg.model
    head = [
        f"Written by `intone export --for {trainer}` from {source}.",
        f"Keys checked against {CHECKED[trainer]}.",
    ]
    if trainer == "trl":
        return {
            "sft.yaml": trl_config(cfg, facts, model, head),
            TEMPLATE_FILE: gemma_training_template(cfg.train_on),
            "accelerate_config.yaml": accelerate_config(head),
        }
    if trainer == "axolotl":
        return {"axolotl.yaml": axolotl_config(cfg, facts, model, head)}
    return {"lora.yaml": mlx_config(cfg, facts, model, head)}


# ---------------------------------------------------------------------------- the template


def gemma_training_template(train_on: str = "all") -> str:
    """Gemma's turn format exactly as `GemmaTemplate.segments` renders it, with `{% generation %}`
    around each trained assistant turn's content and its `<end_of_turn>` (not the newline after it).

    Unlike Google's template it keeps content untrimmed, folds the first system turn into the first
    user turn (as Gemma has no system role) and renders any later system turn as user text.
    """
    trained = "true" if train_on == "all" else "loop.index0 == ns.last"
    return (
        "{#- intone: Gemma's turn format as intone trains it, with the loss mask as generation blocks:\n"
        "    assistant content + <end_of_turn> are trained; the turn headers and the newline after\n"
        f"    <end_of_turn> are not. train-on: {train_on}. -#}}\n"
        "{{- bos_token -}}\n"
        "{%- set ns = namespace(pending=none, seen_user=false, last=-1) -%}\n"
        "{%- for message in messages -%}\n"
        "    {%- if message['role'] == 'assistant' -%}{%- set ns.last = loop.index0 -%}{%- endif -%}\n"
        "{%- endfor -%}\n"
        "{%- for message in messages -%}\n"
        "    {%- if message['role'] == 'system' and ns.pending is none and not ns.seen_user -%}\n"
        "        {%- set ns.pending = message['content'] -%}\n"
        "    {%- elif message['role'] == 'assistant' -%}\n"
        "        {%- if ns.pending is not none -%}\n"
        "            {{- '<start_of_turn>user\\n' + ns.pending + '<end_of_turn>\\n' -}}\n"
        "            {%- set ns.pending = none -%}\n"
        "        {%- endif -%}\n"
        "        {{- '<start_of_turn>model\\n' -}}\n"
        f"        {{%- if {trained} -%}}\n"
        "            {%- generation -%}{{- message['content'] + '<end_of_turn>' -}}{%- endgeneration -%}\n"
        "        {%- else -%}\n"
        "            {{- message['content'] + '<end_of_turn>' -}}\n"
        "        {%- endif -%}\n"
        "        {{- '\\n' -}}\n"
        "    {%- else -%}\n"
        "        {%- if message['role'] == 'user' -%}{%- set ns.seen_user = true -%}{%- endif -%}\n"
        "        {%- set content = message['content'] -%}\n"
        "        {%- if ns.pending is not none -%}\n"
        "            {%- set content = ns.pending + '\\n\\n' + content -%}\n"
        "            {%- set ns.pending = none -%}\n"
        "        {%- endif -%}\n"
        "        {{- '<start_of_turn>user\\n' + content + '<end_of_turn>\\n' -}}\n"
        "    {%- endif -%}\n"
        "{%- endfor -%}\n"
        "{%- if ns.pending is not none -%}\n"
        "    {{- '<start_of_turn>user\\n' + ns.pending + '<end_of_turn>\\n' -}}\n"
        "{%- endif -%}\n"
        "{%- if add_generation_prompt -%}\n"
        "    {{- '<start_of_turn>model\\n' -}}\n"
        "{%- endif -%}\n"
    )


# ---------------------------------------------------------------------------- TRL


def trl_config(cfg: TrainConfig, facts: SplitFacts, model: str, head: list[str]) -> str:
    to = facts.to
    has_valid = facts.counts.get("valid", 0) > 0
    schedule = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}[cfg.schedule]
    comment = [
        *head,
        "",
        "One GPU (or CPU, or Apple MPS):",
        f"  trl sft --config {to / 'sft.yaml'}",
        "N GPUs on one machine (data parallel; set num_processes in accelerate_config.yaml to N):",
        f"  trl sft --config {to / 'sft.yaml'} --accelerate_config {to / 'accelerate_config.yaml'}",
        "or, with accelerate directly:",
        f"  accelerate launch --config_file {to / 'accelerate_config.yaml'} -m trl.scripts.sft \\",
        f"      --config {to / 'sft.yaml'}",
        "The batch below is per device: on N GPUs the effective batch is N times larger; divide",
        "gradient_accumulation_steps by N to keep intone's.",
        "",
        "Loss mask: assistant_only_loss with the template beside this file, whose {% generation %}",
        "blocks hold each assistant turn's content and its <end_of_turn>, and nothing else.",
    ]
    if cfg.train_tokens != ["none"]:
        comment += [
            "intone also trains the turn tokens' embedding rows (train-tokens); an instruction-tuned",
            "Gemma already knows them. For a base model add `lora_modules_to_save: [embed_tokens]`.",
        ]
    lora_alpha = _whole(cfg.lora_alpha, "lora-alpha", "TRL's lora_alpha")
    if has_valid:  # datasets.load_dataset(DIR) names the splits after the files; valid.jsonl is "validation"
        data: dict[str, Any] = {"dataset_name": str(to), "dataset_train_split": "train", "dataset_test_split": "validation"}
    else:  # load_dataset(DIR) fails on an empty valid.jsonl: read train.jsonl alone
        data = {"datasets": [{"path": "json", "data_files": str(to / "train.jsonl"), "split": "train"}]}
    body: dict[str, Any] = {
        "model_name_or_path": model,
        **data,
        "output_dir": str(to / "trl-output"),
        "chat_template_path": str(to / TEMPLATE_FILE),
        "assistant_only_loss": True,
        "eos_token": "<end_of_turn>",
        "max_length": cfg.max_length,
        "packing": False,
        "use_peft": True,
        "lora_r": cfg.lora_r,
        "lora_alpha": lora_alpha,
        "lora_dropout": cfg.lora_dropout,
        "lora_target_modules": list(cfg.lora_targets),
        "learning_rate": cfg.lr,
        **({"max_steps": cfg.max_steps} if cfg.max_steps else {"num_train_epochs": cfg.epochs}),
        "per_device_train_batch_size": cfg.batch_size,
        "per_device_eval_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "lr_scheduler_type": schedule,
        "warmup_steps": cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "seed": cfg.seed,
        "logging_steps": cfg.log_every,
        "eval_strategy": "epoch" if has_valid else "no",
        "save_strategy": "epoch",
        "report_to": "none",
    }
    return _comment(comment) + dump_yaml(body)


def accelerate_config(head: list[str]) -> str:
    comment = [
        *head,
        "accelerate's config for data-parallel training on the GPUs of one machine; set",
        "num_processes to the number of GPUs. Used by `trl sft --accelerate_config` (see sft.yaml).",
    ]
    body = {
        "compute_environment": "LOCAL_MACHINE",
        "distributed_type": "MULTI_GPU",
        "num_machines": 1,
        "machine_rank": 0,
        "num_processes": 2,
        "gpu_ids": "all",
        "mixed_precision": "bf16",
        "rdzv_backend": "static",
        "same_network": True,
        "main_training_function": "main",
        "use_cpu": False,
    }
    return _comment(comment) + dump_yaml(body)


# ---------------------------------------------------------------------------- axolotl


def axolotl_config(cfg: TrainConfig, facts: SplitFacts, model: str, head: list[str]) -> str:
    to = facts.to
    comment = [
        *head,
        "",
        "One GPU:  axolotl train " + str(to / "axolotl.yaml"),
        "N GPUs:   accelerate launch -m axolotl.cli.train " + str(to / "axolotl.yaml"),
        "          (accelerate config, or --num_processes N, sets the GPUs; micro_batch_size is per GPU)",
        "",
        "Loss mask: roles_to_train [assistant] + train_on_eos turn + eot_tokens [<end_of_turn>]:",
        "each assistant turn's content and its <end_of_turn> are trained, nothing else. Without",
        "train_on_eos / eot_tokens the <end_of_turn> is masked and the model never learns to stop.",
        "chat_template gemma3 trims each message, as Google's template does; intone does not.",
    ]
    if cfg.train_on == "last":
        comment += ["intone's train-on = last has no axolotl key: every assistant turn is trained here."]
    lora_alpha = _whole(cfg.lora_alpha, "lora-alpha", "axolotl's lora_alpha")

    def dataset(name: str, split: str | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": str(to / f"{name}.jsonl"), "ds_type": "json"}
        if split:
            entry["split"] = split
        entry.update(type="chat_template", field_messages="messages", roles_to_train=["assistant"], train_on_eos="turn")
        return entry

    body: dict[str, Any] = {
        "base_model": model,
        "chat_template": "gemma3",
        "eot_tokens": ["<end_of_turn>"],
        "datasets": [dataset("train")],
    }
    if facts.counts.get("valid", 0) > 0:
        body["test_datasets"] = [dataset("valid", split="train")]  # a JSON file's one split is "train"
    body.update({
        "val_set_size": 0.0,  # the valid split above, never a random share of train
        "dataset_prepared_path": str(to / "axolotl-prepared"),
        "output_dir": str(to / "axolotl-output"),
        "adapter": "lora",
        "lora_r": cfg.lora_r,
        "lora_alpha": lora_alpha,
        "lora_dropout": cfg.lora_dropout,
        "lora_target_modules": list(cfg.lora_targets),
        "sequence_len": cfg.max_length,
        "sample_packing": False,
        "micro_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        **({"max_steps": cfg.max_steps} if cfg.max_steps else {"num_epochs": cfg.epochs}),
        "learning_rate": cfg.lr,
        "lr_scheduler": cfg.schedule,
        "warmup_ratio": cfg.warmup_ratio,
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "optimizer": "adamw_torch",
        "seed": cfg.seed,
        "bf16": "auto",
    })
    return _comment(comment) + dump_yaml(body)


# ---------------------------------------------------------------------------- mlx-lm

MLX_KEYS = {name: f"self_attn.{name}" for name in ("q_proj", "k_proj", "v_proj", "o_proj")} | {
    name: f"mlp.{name}" for name in ("gate_proj", "up_proj", "down_proj")
}


def mlx_iters(cfg: TrainConfig, n_train: int) -> tuple[int, int]:
    """(iters, optimiser updates): mlx-lm counts batches, and updates every grad-accum batches."""
    if cfg.max_steps:
        iters = cfg.max_steps * cfg.grad_accum
    else:
        iters = max(1, math.ceil(cfg.epochs * n_train / cfg.batch_size))
    return iters, max(1, iters // cfg.grad_accum)


def mlx_config(cfg: TrainConfig, facts: SplitFacts, model: str, head: list[str]) -> str:
    to = facts.to
    n_train = facts.counts.get("train", 0)
    iters, updates = mlx_iters(cfg, n_train)
    warmup = round(cfg.warmup_ratio * updates)
    comment = [
        *head,
        "",
        f"  mlx_lm.lora --config {to / 'lora.yaml'}",
        "",
        f"iters = ceil(epochs {_num(cfg.epochs)} x {n_train} training records / batch {cfg.batch_size}) = {iters}"
        if not cfg.max_steps else f"iters = max-steps {cfg.max_steps} x grad-accum {cfg.grad_accum} = {iters}",
        "Loss mask: mask_prompt trains the last message of each conversation, i.e. the final",
        "assistant turn with its <end_of_turn> (and the newline the model's chat template puts after it).",
        "mlx-lm renders with the model's own chat template (Google's, which trims each message).",
    ]
    if facts.multi_assistant and cfg.train_on == "all":
        comment += [
            f"{facts.multi_assistant} training record(s) have several assistant turns: mlx-lm trains only",
            "the last of each (intone trains all of them: train-on = all).",
        ]
    unknown = [t for t in cfg.lora_targets if t not in MLX_KEYS]
    if unknown:
        comment.append(f"lora targets kept as given (no known mlx-lm path): {', '.join(unknown)}")
    lr_schedule: dict[str, Any] | None
    if cfg.schedule == "cosine":
        lr_schedule = {"name": "cosine_decay", "warmup": warmup, "warmup_init": 0.0,
                       "arguments": [cfg.lr, max(1, updates - warmup), 0.0]}
    elif cfg.schedule == "linear":
        lr_schedule = {"name": "linear_schedule", "warmup": warmup, "warmup_init": 0.0,
                       "arguments": [cfg.lr, 0.0, max(1, updates - warmup)]}
    elif warmup:
        lr_schedule = {"name": "linear_schedule", "warmup": warmup, "warmup_init": 0.0, "arguments": [cfg.lr, cfg.lr, 1]}
    else:
        lr_schedule = None
    body: dict[str, Any] = {
        "model": model,
        "train": True,
        "data": str(to),
        "fine_tune_type": "lora",
        "mask_prompt": True,
        "num_layers": -1,  # every layer, as PEFT's target modules do
        "lora_parameters": {
            "keys": [MLX_KEYS.get(t, t) for t in cfg.lora_targets],
            "rank": cfg.lora_r,
            "scale": cfg.lora_alpha / cfg.lora_r,  # mlx-lm takes the scale, alpha / r
            "dropout": cfg.lora_dropout,
        },
        "batch_size": cfg.batch_size,
        "grad_accumulation_steps": cfg.grad_accum,
        "iters": iters,
        "learning_rate": cfg.lr,
        **({"lr_schedule": lr_schedule} if lr_schedule else {}),
        "optimizer": "adamw",
        "optimizer_config": {"adamw": {"weight_decay": cfg.weight_decay}},
        "max_seq_length": cfg.max_length,
        "val_batches": -1,
        "steps_per_eval": max(1, math.ceil(n_train / cfg.batch_size)),
        "adapter_path": str(to / "mlx-adapters"),
        "seed": cfg.seed,
    }
    return _comment(comment) + dump_yaml(body)


# ---------------------------------------------------------------------------- YAML


def dump_yaml(data: dict[str, Any], indent: int = 0) -> str:
    """Block-style YAML for the few shapes these configs use; strings double-quoted (JSON escapes
    are YAML escapes), floats always with a decimal point (PyYAML reads `1e-05` as a string)."""
    pad = " " * indent
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{pad}{key}:\n{dump_yaml(value, indent + 2).rstrip(chr(10))}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.append(f"{pad}{key}:")
            for item in value:
                text = dump_yaml(item, indent + 4)
                out.append(f"{pad}  - {text[indent + 4:]}".rstrip("\n"))
        else:
            out.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(out) + "\n"


def _scalar(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _comment(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + "\n"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _whole(value: float, key: str, what: str) -> int:
    if not float(value).is_integer():
        raise HandoffError(f"{key} = {value}: {what} is a whole number; set a whole lora-alpha for this export")
    return int(value)
