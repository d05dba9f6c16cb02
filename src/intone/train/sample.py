"""Generation with exactly the training template, stopping at end of turn.

The prompt is tokenized at the same segment boundaries as in training, generation stops on the
template's end-of-turn token or eos, and only the reply text is returned (no template tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    pad_id: int = 0
    decoder: object = None
    """intone's lean decoder over the model's weights (train/decode.py), where it runs this model."""


@dataclass
class Reply:
    text: str
    """The reply, without special tokens except turn markers the model wrote (`reply_text`)."""
    tokens: int
    """New tokens generated, the stop token not counted."""
    stopped: bool
    """It ended at end of turn (or eos) before --max-new-tokens."""


def run_config(run_dir: Path):
    """The TrainConfig a run was trained with (its config.toml)."""
    import tomllib

    from intone.errors import ConfigError
    from intone.train.config import from_table

    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no config.toml); give the --out folder of `intone train`")
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: damaged ({exc}); it is the run's record of its settings: restore it "
                          "or train again") from None
    return from_table(table, str(path))


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


def check_adapter(adapter: Path) -> None:
    """The adapter folder must hold a readable adapter_config.json and safetensors weights.

    Pickle-format weights (adapter_model.bin) are refused: loading a pickle can run any code."""
    from intone.errors import ConfigError
    from intone.train.rundir import read_json_object

    read_json_object(adapter / "adapter_config.json", "it is written by `intone train`; restore it or train again")
    if (adapter / "adapter_model.safetensors").is_file():
        return
    pickled = sorted(p.name for p in adapter.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickled:
        raise ConfigError(
            f"{adapter / pickled[0]}: pickle-format weights are refused, since loading a pickle can run any code; "
            "intone loads adapters from safetensors only (adapter_model.safetensors). Convert it where you trust "
            "it, e.g. PeftModel.from_pretrained(...).save_pretrained(DIR, safe_serialization=True)"
        )
    raise ConfigError(f"{adapter}: no adapter_model.safetensors; the run saved no weights (train it, or --resume it)")


def load_for_generation(run_dir: Path | None, model_spec: str | None, device: str, *, merge: bool = True,
                        int8: bool = True) -> Loaded:
    """The base model with the run's adapter (when run_dir is given), its tokenizer and template.

    The adapter (LoRA and the trained token rows) is merged into the weights for generation:
    measured on the 270M model on a 2-core CPU, that makes a reply about 3x faster than running
    the LoRA branches on every token. `generate(..., base=True)` unmerges for the base model's
    answer and merges again after.

    A merged Gemma 3 model on the CPU decodes with `intone.train.decode` instead of
    transformers' generate(); with `int8`, up to 8 replies at a time use quantized copies of the
    weights: int8 layers and a 4-bit screen of the head with exact logits for each row's best
    tokens (bench/sample_speed.py measures both the speed and the distance from fp32).
    """
    from intone.train.device import tune_allocator
    from intone.train.model import end_of_turn_ids, load_model, resolve_model, tokenizer_folder

    tune_allocator()
    adapter = None
    if run_dir is not None:
        cfg = run_config(run_dir)
        model_spec = model_spec or cfg.model
        adapter = Path(run_dir) / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            from intone.errors import ConfigError

            raise ConfigError(f"{run_dir}: no adapter/ yet; the run saved no weights (train it, or --resume it)")
        check_adapter(adapter)
    source = resolve_model(model_spec)
    tokenizer = TextTokenizer(tokenizer_folder(source))
    template = template_for(tokenizer)
    model = load_model(source, device)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
        if merge:
            model.merge_adapter()
    model.eval()
    decoder = None
    if device == "cpu":
        small_batch_linears(model)
        decoder = lean_decoder(model, merged=merge or adapter is None, int8=int8)
    stop_ids = end_of_turn_ids(tokenizer, template)
    pad = tokenizer.token_id(tokenizer.special.get("pad_token", ""))
    return Loaded(model, tokenizer, template, device, stop_ids, adapter is not None,
                  pad if pad is not None else stop_ids[0], decoder)


def lean_decoder(model, *, merged: bool, int8: bool):
    """intone's decoder over `model`'s weights, or None where it does not run this model."""
    from intone.train import decode

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not merged or not decode.supports(base):
        return None
    decoder = decode.Gemma3Decoder(base)
    if int8:
        decoder.quantize()
    return decoder


class TopKTopPSampler:
    """Temperature, top-k and top-p sampling over the k best tokens only.

    The same distribution as transformers' warpers (top-k, then the smallest set of those
    whose probability reaches top-p), but it sorts k values instead of the whole 262k-token
    vocabulary and draws from k probabilities: measured here, about 17 ms less per token and
    reply. Runs after generate()'s own processors (repetition penalty, min-new-tokens) and
    returns scores where only the drawn token is finite.
    """

    def __init__(self, opts: GenerationOptions) -> None:
        import torch

        self.opts = opts
        self.generator = torch.Generator().manual_seed(opts.seed)

    def distribution(self, scores):
        """(token ids, their probabilities, not yet normalised) for each row of `scores`."""
        import torch

        scores = scores.float() / self.opts.temperature
        k = scores.shape[-1] if self.opts.top_k <= 0 else min(self.opts.top_k, scores.shape[-1])
        values, index = scores.topk(k, dim=-1)  # sorted, best first
        probs = torch.softmax(values, dim=-1)
        if self.opts.top_p < 1.0:
            before = probs.cumsum(dim=-1) - probs  # probability of the better tokens
            probs = probs.masked_fill(before >= self.opts.top_p, 0.0)
        return index, probs

    def draw(self, scores):
        """One token id per row of `scores`, drawn from `distribution`: (rows, 1)."""
        import torch

        index, probs = self.distribution(scores)
        choice = torch.multinomial(probs.cpu(), 1, generator=self.generator).to(index.device)
        return index.gather(1, choice)

    def __call__(self, input_ids, scores):
        import torch

        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, self.draw(scores), 0.0)


def small_batch_linears(model) -> int:
    """Make the Linear layers of `model` (transformers' generate() path) compute few rows the way
    intone's decoder does (`products.matmul_rows`). Returns how many layers it set."""
    import torch
    import torch.nn.functional as F

    from intone.train.products import matmul_rows

    count = 0
    for module in model.modules():
        if type(module) is not torch.nn.Linear:
            continue

        def forward(x, layer=module):
            if x.dtype != layer.weight.dtype:
                return F.linear(x, layer.weight, layer.bias)
            out = matmul_rows(x.reshape(-1, x.shape[-1]), layer.weight)
            if layer.bias is not None:
                out = out + layer.bias
            return out.reshape(*x.shape[:-1], layer.weight.shape[0])

        module.forward = forward
        count += 1
    return count


class _Streamer:
    """Receives tokens from `generate` as they come and hands on the new text of reply 0."""

    def __init__(self, loaded: Loaded, on_text) -> None:
        self.loaded, self.on_text = loaded, on_text
        self.ids: list[int] = []
        self.shown = ""
        self.prompt_seen = False
        self.done = False

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt
            self.prompt_seen = True
            return
        if self.done:
            return
        token = int(value.reshape(-1)[0])
        if token in self.loaded.stop_ids:
            self.done = True
            return
        self.ids.append(token)
        text = self.loaded.tokenizer.reply_text(self.ids)
        if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
            return
        if text.startswith(self.shown):
            self.on_text(text[len(self.shown) :])
            self.shown = text

    def end(self) -> None:
        self.done = True


def generate_batch(
    loaded: Loaded, conversations: Sequence[Messages], opts: GenerationOptions, *, base: bool = False, on_text=None,
    on_done: Callable[[int], None] | None = None,
) -> list[Reply]:
    """Replies to several conversations at once (left padding, KV cache).

    `base` turns the adapter off. `on_text(piece)` streams the first reply's text as it is
    generated (used by chat, with one conversation). `on_done(i)` is told when reply i is done,
    where the decoder can say so (intone's decoder; not transformers' generate()).
    """
    import contextlib

    import torch

    prompts = [prompt_ids(loaded.tokenizer, loaded.template, messages) for messages in conversations]
    if loaded.decoder is not None:
        return _decode_batch(loaded, prompts, opts, base=base, on_text=on_text, on_done=on_done)
    width = max(len(ids) for ids in prompts)
    input_ids = torch.full((len(prompts), width), loaded.pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        attention[row, width - len(ids) :] = 1
    kwargs = {
        "max_new_tokens": opts.max_new_tokens,
        "min_new_tokens": opts.min_new_tokens,
        "repetition_penalty": opts.repetition_penalty,
        "eos_token_id": loaded.stop_ids,
        "pad_token_id": loaded.pad_id,
    }
    # Sampling is done by `TopKTopPSampler` and handed to generate() as a one-hot choice, so
    # generate() itself decodes greedily; temperature 0 is plain greedy decoding.
    kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if opts.temperature > 0:
        from transformers import LogitsProcessorList

        kwargs["logits_processor"] = LogitsProcessorList([TopKTopPSampler(opts)])
    if on_text is not None:
        kwargs["streamer"] = _Streamer(loaded, on_text)
    model = loaded.model
    off = base and loaded.has_adapter
    switch = model.disable_adapter() if off else contextlib.nullcontext()
    try:
        with switch, torch.no_grad():
            out = model.generate(
                input_ids=input_ids.to(loaded.device), attention_mask=attention.to(loaded.device), use_cache=True,
                **kwargs,
            )
    finally:
        if off and hasattr(model, "merge_adapter"):
            model.merge_adapter()  # disabling unmerged it
    replies = []
    for row in out[:, width:].tolist():
        stop = next((i for i, token in enumerate(row) if token in loaded.stop_ids), None)
        new = row if stop is None else row[:stop]
        replies.append(Reply(loaded.tokenizer.reply_text(new), len(new), stop is not None))
    return replies


def _decode_batch(loaded: Loaded, prompts: list[list[int]], opts: GenerationOptions, *, base: bool,
                  on_text, on_done) -> list[Reply]:
    """generate_batch on intone's lean decoder: the same processors, sampler and stop rule."""
    import torch

    from intone.train.decode import decode

    sampler = TopKTopPSampler(opts) if opts.temperature > 0 else None

    def choose(scores):
        return scores.argmax(dim=-1) if sampler is None else sampler.draw(scores)

    on_token = None
    if on_text is not None:
        streamer = _Streamer(loaded, on_text)
        streamer.prompt_seen = True

        def on_token(row: int, token: int) -> None:
            if row == 0:
                streamer.put(torch.tensor([token]))

    off = base and loaded.has_adapter
    if off:
        loaded.model.unmerge_adapter()  # the fp32 weights become the base model's; the quantized copies are not used
    try:
        out = decode(
            loaded.decoder, prompts, max_new_tokens=opts.max_new_tokens, min_new_tokens=opts.min_new_tokens,
            stop_ids=loaded.stop_ids, pad_id=loaded.pad_id, choose=choose,
            repetition_penalty=opts.repetition_penalty, on_token=on_token, on_done=on_done, int8=not off,
        )
    finally:
        if off:
            loaded.model.merge_adapter()
    return [Reply(loaded.tokenizer.reply_text(d.tokens), len(d.tokens), d.stopped)
            for d in out]


def generate(loaded: Loaded, messages: Messages, opts: GenerationOptions, *, base: bool = False) -> str:
    """One reply to a conversation that ends with a user turn. `base` turns the adapter off."""
    return generate_batch(loaded, [messages], opts, base=base)[0].text


def read_prompts(path: Path, warn: Callable[[str], None] | None = None) -> list[tuple[str, Messages]]:
    """Prompts from JSONL: {"prompt": "..."} or a messages record (a trailing assistant turn is dropped).

    A line that is not a usable prompt (bad JSON or UTF-8, a lone surrogate, a huge number, the
    wrong shape) is skipped with a message to `warn` naming its line; the rest go on. With no
    usable prompt at all it is a usage error."""
    from intone.errors import UsageError
    from intone.schemas.jsonl import read_jsonl_path

    out: list[tuple[str, Messages]] = []
    skipped: list[str] = []
    for line in read_jsonl_path(path, validate=False):
        if line.blank:
            continue
        where = f"{path}:{line.number}"
        problem = _prompt_problem(line)
        if problem is not None:
            skipped.append(f"{where}: {problem}")
            continue
        data = line.data
        if isinstance(data.get("prompt"), str):
            out.append((where, (("user", data["prompt"]),)))
            continue
        turns = tuple((m["role"], m["content"]) for m in data["messages"])
        while turns and turns[-1][0] == "assistant":
            turns = turns[:-1]
        if not turns or turns[-1][0] != "user":
            skipped.append(f"{where}: messages: the conversation must end with a user turn to reply to")
            continue
        out.append((where, turns))
    for message in skipped:
        if warn is not None:
            warn(f"skipped {message}")
    if not out:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise UsageError(f"--prompts {path}: no usable prompt{first}")
    return out


def _prompt_problem(line: Any) -> str | None:
    """Why a parsed line is not a prompt, or None when it is one."""
    parse = [p for p in line.problems if p.name in ("invalid-json", "invalid-utf8", "not-an-object")]
    if parse:
        return f"{parse[0].message}; one JSON object per line"
    data = line.data
    if isinstance(data.get("prompt"), str):
        return None
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages
    ):
        return 'expected {"prompt": "..."} or {"messages": [{"role": ..., "content": "..."}, ...]}'
    return None
