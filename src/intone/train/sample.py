"""Generation with exactly the training template, stopping at end of turn.

The prompt is tokenized at the same segment boundaries as in training, generation stops on the
template's end-of-turn token or eos, and only the reply text is returned (no template tokens).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from intone.train.template import Messages, TextTokenizer, prompt_ids, template_for


@dataclass
class GenerationOptions:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 64
    repetition_penalty: float = 1.0
    min_new_tokens: int = 1
    max_new_tokens: int = 256
    seed: int = 0


@dataclass
class Loaded:
    model: object
    tokenizer: TextTokenizer
    template: object
    device: str
    stop_ids: list[int]
    has_adapter: bool


def run_config(run_dir: Path):
    """The TrainConfig a run was trained with (its config.toml)."""
    import tomllib

    from intone.config import ConfigError
    from intone.train.config import from_table

    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no config.toml); give the --out folder of `intone train`")
    with open(path, "rb") as fh:
        return from_table(tomllib.load(fh), str(path))


def load_for_generation(run_dir: Path | None, model_spec: str | None, device: str) -> Loaded:
    """The base model with the run's adapter (when run_dir is given), its tokenizer and template."""
    from intone.train.device import dtype_name, probe, tune_allocator
    from intone.train.model import end_of_turn_ids, load_model, resolve_model, tokenizer_folder

    tune_allocator()
    adapter = None
    if run_dir is not None:
        cfg = run_config(run_dir)
        model_spec = model_spec or cfg.model
        adapter = Path(run_dir) / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            from intone.config import ConfigError

            raise ConfigError(f"{run_dir}: no adapter/ yet; the run saved no weights (train it, or --resume it)")
    source = resolve_model(model_spec)
    tokenizer = TextTokenizer(tokenizer_folder(source))
    template = template_for(tokenizer)
    found = probe()
    model = load_model(source, device, dtype_name(device, found))
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    return Loaded(model, tokenizer, template, device, end_of_turn_ids(tokenizer, template), adapter is not None)


def generate(loaded: Loaded, messages: Messages, opts: GenerationOptions, *, base: bool = False) -> str:
    """One reply to a conversation that ends with a user turn. `base` turns the adapter off."""
    import contextlib

    import torch

    ids = prompt_ids(loaded.tokenizer, loaded.template, messages)
    input_ids = torch.tensor([ids], device=loaded.device)
    pad = loaded.tokenizer.token_id(loaded.tokenizer.special.get("pad_token", "")) or loaded.stop_ids[0]
    kwargs = {
        "max_new_tokens": opts.max_new_tokens,
        "min_new_tokens": opts.min_new_tokens,
        "repetition_penalty": opts.repetition_penalty,
        "eos_token_id": loaded.stop_ids,
        "pad_token_id": pad,
    }
    if opts.temperature > 0:
        kwargs.update(do_sample=True, temperature=opts.temperature, top_p=opts.top_p, top_k=opts.top_k)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    switch = loaded.model.disable_adapter() if base and loaded.has_adapter else contextlib.nullcontext()
    torch.manual_seed(opts.seed)
    with switch, torch.no_grad():
        out = loaded.model.generate(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=True, **kwargs
        )
    new = out[0, len(ids) :].tolist()
    for i, token in enumerate(new):
        if token in loaded.stop_ids:
            new = new[:i]
            break
    return loaded.tokenizer.decode(new, skip_special_tokens=True)


def read_prompts(path: Path) -> list[tuple[str, Messages]]:
    """Prompts from JSONL: {"prompt": "..."} or a messages record (a trailing assistant turn is dropped)."""
    from intone.cli import UsageError

    out: list[tuple[str, Messages]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg}); one JSON object per line") from None
        if isinstance(data, dict) and isinstance(data.get("prompt"), str):
            out.append((where, (("user", data["prompt"]),)))
            continue
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages
        ):
            raise UsageError(f'{where}: messages: expected {{"prompt": "..."}} or {{"messages": [{{"role", "content"}}, ...]}}')
        turns = tuple((m["role"], m["content"]) for m in messages)
        while turns and turns[-1][0] == "assistant":
            turns = turns[:-1]
        if not turns or turns[-1][0] != "user":
            raise UsageError(f"{where}: messages: the conversation must end with a user turn to reply to")
        out.append((where, turns))
    return out


def side_by_side(pairs: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"[{label}]\n{text}" for label, text in pairs)
