"""The training loop: setup, train, evaluate, save and resume.

A hand-written loop, because the loss needs logits only where labels are trained: the decoder
runs on the whole batch, but the vocabulary projection (262k columns for Gemma) runs only on
assistant positions. For short persona replies that is most of the work saved.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from intone.train.config import TrainConfig
from intone.train.data import Example, collate, plan_epoch
from intone.train.template import IGNORE

CHECKPOINT = "checkpoint"


class Reporter(Protocol):
    def start(self, total_steps: int, done_steps: int) -> None: ...
    def step(self, record: dict[str, Any]) -> None: ...
    def evaluated(self, record: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class NullReporter:
    def start(self, total_steps: int, done_steps: int) -> None: ...
    def step(self, record: dict[str, Any]) -> None: ...
    def evaluated(self, record: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


@dataclass
class StopFlag:
    """Set by the SIGINT handler (or a test); the loop stops after the current step."""

    requested: bool = False

    def set(self) -> None:
        self.requested = True


@dataclass
class Progress:
    step: int = 0
    tokens: int = 0
    trainable_tokens: int = 0
    train_seconds: float = 0.0
    eval_loss: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def steps_per_epoch(n_examples: int, cfg: TrainConfig) -> int:
    return max(1, math.ceil(math.ceil(n_examples / cfg.batch_size) / cfg.grad_accum))


def total_steps(n_examples: int, cfg: TrainConfig) -> int:
    return cfg.max_steps or max(1, math.ceil(cfg.epochs * steps_per_epoch(n_examples, cfg)))


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    warmup = math.ceil(cfg.warmup_ratio * total) if cfg.warmup_ratio > 0 else 0
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.schedule == "linear":
        return cfg.lr * (1 - progress)
    return cfg.lr


def setup_model(model, cfg: TrainConfig, token_ids: Sequence[int] = ()):
    """Wrap a loaded causal LM with LoRA and the trainable token rows (seeded init)."""
    import torch
    from peft import get_peft_model

    from intone.train.model import lora_config

    torch.manual_seed(cfg.seed)
    model.config.use_cache = False
    model = get_peft_model(model, lora_config(cfg, list(token_ids)))
    lean_token_rows(model)
    return model


def lean_token_rows(model) -> bool:
    """Look up PEFT's trainable token rows without rebuilding the whole embedding matrix.

    PEFT's TrainableTokensLayer forms `weight.index_copy(rows)` (262k x 640 floats for Gemma)
    on every forward, and autograd then fills a dense gradient of the same size: measured here,
    about 0.8 s per micro-batch. This forward gives the same values and gradients: the frozen
    embedding's output, with the positions holding a trained token replaced by its trained
    row. Merged, disabled or multi-adapter states use PEFT's own forward.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    layer = getattr(base.get_input_embeddings(), "token_adapter", None)
    if layer is None or not isinstance(layer.base_layer, torch.nn.Embedding):
        return False
    original = layer.forward_adapters

    def forward_adapters(x, active_adapters, *args, **kwargs):
        names = [n for n in active_adapters if n in layer.trainable_tokens_delta]
        if layer.disable_adapters or layer.merged or len(names) != 1 or args or kwargs:
            return original(x, active_adapters, *args, **kwargs)
        result = layer.base_layer(x)  # Gemma's scaled embedding includes its scale
        index = torch.tensor(layer.token_indices[names[0]], device=x.device)
        hits = x[..., None] == index
        found = hits.any(-1)
        if not bool(found.any()):
            return result
        values = layer.trainable_tokens_delta[names[0]][hits[found].int().argmax(-1)]
        scale = layer._get_embed_scale() if hasattr(layer, "_get_embed_scale") else None
        if scale is not None:
            values = values * scale.to(values.dtype)
        return result.index_put((found,), values.to(result.dtype))

    layer.forward_adapters = forward_adapters
    return True


HEAD_CHUNK_BYTES = 128 << 20  # logits are computed this many bytes at a time
_BUFFERS: dict[tuple, Any] = {}
_CASTS: dict[tuple, Any] = {}


@dataclass
class Head:
    """The output projection as the loss sees it: a frozen weight, with `rows` (trainable,
    PEFT's trainable-token delta) standing in for the weight's rows at `index`."""

    weight: Any
    rows: Any = None
    index: Any = None
    module: Any = None


def head_of(model) -> Head:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings()
    layer = getattr(head, "token_adapter", None)
    if layer is None:
        return Head(getattr(head, "weight", None), module=head)
    if layer.merged or layer.disable_adapters:
        return Head(layer.base_layer.weight, module=head)
    for name in layer.active_adapters:
        if name in layer.trainable_tokens_delta:
            index = torch_tensor(layer.token_indices[name], layer.base_layer.weight.device)
            return Head(layer.base_layer.weight, layer.trainable_tokens_delta[name], index, head)
    return Head(layer.base_layer.weight, module=head)


def torch_tensor(values, device):
    import torch

    return torch.tensor(list(values), dtype=torch.long, device=device)


def _decoder_hidden(model, batch, dtype: str):
    from intone.train.device import autocast

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    device = batch["input_ids"].device.type
    with autocast(device, dtype):
        return base.get_decoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state


def assistant_loss(
    model, batch, *, backward_scale: float | None = None, dtype: str = "float32"
) -> tuple[Any, int]:
    """Summed cross-entropy over trained positions, and their count.

    Logits are computed only at trained positions, in chunks, so memory stays bounded however
    large the vocabulary. With `backward_scale`, the loss times the scale is back-propagated:
    the vocabulary projection by hand (in place, in one reused buffer; see `_head_loss`), the
    decoder by autograd. `dtype` "bfloat16" runs the decoder under bf16 autocast and the
    projection's matmuls in bf16; softmax and loss stay fp32.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = head_of(model)
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    hidden = _decoder_hidden(model, batch, dtype)
    hidden, targets = hidden[:, :-1][keep], labels[keep]
    n = int(targets.numel())
    train = backward_scale is not None and torch.is_grad_enabled()
    cap = getattr(base.config, "final_logit_softcapping", None)
    weight = head.weight
    plain = (
        isinstance(weight, torch.Tensor) and not weight.requires_grad and weight.dtype == torch.float32
        and (not isinstance(head.module, torch.nn.Linear) or head.module.bias is None) and not cap
    )
    if plain:
        total, grad, row_grad = _head_loss(
            hidden.detach().float(), head, targets, backward_scale if train else None, dtype
        )
        if train and n:
            if row_grad is not None:
                (hidden.detach().float() @ head.rows.t()).backward(row_grad)
            hidden.backward(grad.to(hidden.dtype))
        return total, n
    scale = backward_scale if train else None
    return _head_loss_autograd(hidden, head.module, targets, cap, scale, dtype, weight.shape[0]), n


def _low_precision(weight, dtype: str):
    """A cached bf16 copy of a frozen weight (None for fp32)."""
    import torch

    if dtype != "bfloat16":
        return None
    key = (weight.data_ptr(), weight.shape, weight.device)
    cast = _CASTS.get(key)
    if cast is None:
        _CASTS.clear()
        cast = _CASTS[key] = weight.detach().to(torch.bfloat16)
    return cast


def _buffer(name: str, shape: tuple, device, dtype):
    import torch

    key = (name, shape, device, dtype)
    buffer = _BUFFERS.get(key)
    if buffer is None:
        for old in [k for k in _BUFFERS if k[0] == name]:
            del _BUFFERS[old]
        buffer = _BUFFERS[key] = torch.empty(shape, device=device, dtype=dtype)
    return buffer


def _head_loss(hidden, head: Head, targets, scale: float | None, dtype: str = "float32"):
    """Cross-entropy of `hidden @ weight.T` and, with `scale`, its gradients.

    Returns (summed loss, gradient wrt `hidden`, gradient wrt the logits of the trainable rows).
    Written out so that the (rows x vocabulary) logits live in one buffer that is reused: the
    softmax and its gradient (softmax - one-hot) are computed in place. Freshly allocated
    logits of hundreds of MB cost page faults on every step, and autograd would keep several.
    The trainable rows' logits replace the frozen weight's columns at `head.index`.
    """
    import torch

    weight = head.weight
    low = _low_precision(weight, dtype)
    n, vocab = hidden.shape[0], weight.shape[0]
    rows = max(1, min(n, HEAD_CHUNK_BYTES // (4 * vocab)))
    logits_buffer = _buffer("logits", (rows, vocab), hidden.device, torch.float32)
    low_buffer = _buffer("low", (rows, vocab), hidden.device, torch.bfloat16) if low is not None else None
    grad = torch.empty_like(hidden) if scale is not None else None
    trained = head.rows.detach().float() if head.rows is not None else None
    row_grad = torch.empty((n, len(head.index)), device=hidden.device) if scale is not None and trained is not None else None
    total = torch.zeros((), device=hidden.device, dtype=torch.float32)
    for start in range(0, n, rows):
        h, y = hidden[start : start + rows], targets[start : start + rows]
        m = h.shape[0]
        logits = logits_buffer[:m]
        if low is None:
            torch.matmul(h, weight.t(), out=logits)
        else:
            torch.matmul(h.to(torch.bfloat16), low.t(), out=low_buffer[:m])
            logits.copy_(low_buffer[:m])
        if trained is not None:
            logits[:, head.index] = h @ trained.t()
        picked = logits.gather(1, y[:, None]).squeeze(1)
        top = logits.max(dim=1).values
        logits.sub_(top[:, None]).exp_()
        norm = logits.sum(dim=1)
        total += (top + norm.log() - picked).sum()
        if grad is None:
            continue
        logits.div_(norm[:, None])
        logits[torch.arange(m, device=h.device), y] -= 1.0
        logits.mul_(scale)
        out = grad[start : start + m]
        if trained is not None:
            row_grad[start : start + m] = logits[:, head.index]
            logits[:, head.index] = 0.0
        if low is None:
            torch.matmul(logits, weight, out=out)
        else:
            low_buffer[:m].copy_(logits)
            out.copy_(low_buffer[:m] @ low)
        if trained is not None:
            out += row_grad[start : start + m] @ trained
    return total, grad, row_grad


def _head_loss_autograd(hidden, head, targets, cap, scale: float | None, dtype: str, vocab: int):
    """The general path (soft-capped logits, trainable heads): chunked, each chunk back-propagated at once."""
    import torch.nn.functional as F

    from intone.train.device import autocast

    rows = max(1, HEAD_CHUNK_BYTES // (4 * vocab))
    inputs = hidden.detach().requires_grad_(True) if scale is not None else hidden
    total = 0.0
    for start in range(0, targets.numel(), rows):
        with autocast(hidden.device.type, dtype):
            logits = head(inputs[start : start + rows]).float()
        if cap:
            logits = (logits / cap).tanh() * cap
        loss = F.cross_entropy(logits, targets[start : start + rows], reduction="sum")
        if scale is not None:
            (loss * scale).backward()
            loss = loss.detach()
        total = total + loss
    if scale is not None and targets.numel():
        hidden.backward(inputs.grad.to(hidden.dtype))
    return total


def token_probabilities(model, batch, token_id: int, dtype: str = "float32") -> list[float]:
    """P(token_id) wherever it is the trained target: e.g. how sure the model is to end its turn
    at exactly the positions where the data ends it (teacher-forced)."""
    import torch

    head = head_of(model)
    labels = batch["labels"][:, 1:]
    where = labels == token_id
    if not bool(where.any()):
        return []
    with torch.no_grad():
        hidden = _decoder_hidden(model, batch, dtype)[:, :-1][where].float()
        logits = hidden @ head.weight.float().t()
        if head.rows is not None:
            logits[:, head.index] = hidden @ head.rows.float().t()
        cap = getattr(model.config, "final_logit_softcapping", None)
        if cap:
            logits = (logits / cap).tanh() * cap
        return torch.softmax(logits, dim=-1)[:, token_id].tolist()


class Trainer:
    def __init__(
        self,
        model,
        cfg: TrainConfig,
        train: Sequence[Example],
        valid: Sequence[Example],
        *,
        run_dir: Path,
        device: str,
        pad_id: int,
        reporter: Reporter | None = None,
        dtype: str = "float32",
    ) -> None:
        import torch

        from intone.train.device import tune_allocator

        tune_allocator()
        self.model, self.cfg, self.train_set, self.valid_set = model, cfg, list(train), list(valid)
        self.run_dir, self.device, self.pad_id, self.dtype = Path(run_dir), device, pad_id, dtype
        self.reporter = reporter or NullReporter()
        self.stop = StopFlag()
        self.total = total_steps(len(self.train_set), cfg)
        self.per_epoch = steps_per_epoch(len(self.train_set), cfg)
        self.progress = Progress()
        rows = [p for n, p in model.named_parameters() if p.requires_grad and "trainable_tokens_delta" in n]
        lora = [p for n, p in model.named_parameters() if p.requires_grad and "trainable_tokens_delta" not in n]
        groups = [{"params": lora, "lr_scale": 1.0}]
        if rows:  # the turn tokens' rows start among thousands of near-identical twins: a larger step
            groups.append({"params": rows, "lr_scale": cfg.token_lr_scale, "weight_decay": 0.0})
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self._plans: dict[int, list[list[int]]] = {}
        self._lengths = [e.n_tokens for e in self.train_set]

    # ------------------------------------------------------------------ data order

    def micro_batches(self, step: int) -> list[list[Example]]:
        epoch, index = divmod(step, self.per_epoch)
        if epoch not in self._plans:
            self._plans = {epoch: plan_epoch(self._lengths, self.cfg.batch_size, self.cfg.seed, epoch)}
        plan = self._plans[epoch][index * self.cfg.grad_accum : (index + 1) * self.cfg.grad_accum]
        return [[self.train_set[i] for i in batch] for batch in plan]

    def _to_device(self, batch):
        return {k: v.to(self.device) for k, v in batch.items()}

    # ------------------------------------------------------------------ train

    def fit(self) -> str:
        """Train to the last step; returns "done" or "interrupted" (checkpoint saved)."""
        import torch

        self.model.train()
        self.reporter.start(self.total, self.progress.step)
        try:
            while self.progress.step < self.total:
                record = self.train_step(self.progress.step)
                step = self.progress.step
                if step % self.cfg.log_every == 0 or step == self.total:
                    self._log(record)
                    self.reporter.step(record)
                if self.valid_set and self.cfg.eval_every and step % self.cfg.eval_every == 0 and step < self.total:
                    self.run_eval()
                if self.stop.requested and step < self.total:
                    self.save_checkpoint()
                    return "interrupted"
                if self.cfg.save_every and step % self.cfg.save_every == 0 and step < self.total:
                    self.save_checkpoint()
            if self.valid_set:
                self.run_eval()
            torch.set_grad_enabled(True)
            return "done"
        finally:
            self.reporter.close()

    def train_step(self, step: int) -> dict[str, Any]:
        import torch

        started = time.perf_counter()
        batches = self.micro_batches(step)
        n_trained = sum(e.n_trainable for batch in batches for e in batch)
        lr = lr_at(step, self.total, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        total_loss = 0.0
        tokens = 0
        for examples in batches:
            batch = self._to_device(collate(examples, self.pad_id))
            loss_sum, _ = assistant_loss(self.model, batch, backward_scale=1.0 / n_trained, dtype=self.dtype)
            total_loss += float(loss_sum)
            tokens += sum(e.n_tokens for e in examples)
        if self.cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(
                [p for p in self.model.parameters() if p.requires_grad], self.cfg.max_grad_norm
            )
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - started
        p = self.progress
        p.step += 1
        p.tokens += tokens
        p.trainable_tokens += n_trained
        p.train_seconds += seconds
        return {
            "step": p.step,
            "epoch": round(p.step / self.per_epoch, 4),
            "loss": total_loss / n_trained,
            "lr": lr,
            "tokens": tokens,
            "trainable_tokens": n_trained,
            "tokens_per_s": tokens / seconds if seconds else 0.0,
            "elapsed_s": round(p.train_seconds, 3),
        }

    def evaluate(self, examples: Sequence[Example] | None = None) -> float:
        """Mean loss per trained assistant token."""
        import torch

        examples = sorted(examples if examples is not None else self.valid_set, key=lambda e: e.n_tokens)
        was_training = self.model.training
        self.model.eval()
        loss, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(examples), self.cfg.batch_size):
                batch = self._to_device(collate(examples[start : start + self.cfg.batch_size], self.pad_id))
                loss_sum, n = assistant_loss(self.model, batch, dtype=self.dtype)
                loss += float(loss_sum)
                count += n
        self.model.train(was_training)
        return loss / max(1, count)

    def run_eval(self) -> None:
        value = self.evaluate()
        self.progress.eval_loss = value
        record = {"step": self.progress.step, "eval_loss": value, "eval_examples": len(self.valid_set)}
        self._log(record)
        self.reporter.evaluated(record)

    def _log(self, record: dict[str, Any]) -> None:
        self.progress.history.append(record)
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------ save / resume

    def save_adapter(self) -> Path:
        target = self.run_dir / "adapter"
        self.model.save_pretrained(str(target))
        return target

    def save_checkpoint(self) -> Path:
        """Adapter, optimizer, RNG and position: everything a resume needs to continue exactly."""
        import torch
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        folder = self.run_dir / CHECKPOINT
        tmp = self.run_dir / f".{CHECKPOINT}.tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        state_dict = {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(self.model).items()}
        save_file(state_dict, str(tmp / "adapter.safetensors"))
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save({"torch": torch.get_rng_state()}, tmp / "rng.pt")
        p = self.progress
        state = {"step": p.step, "tokens": p.tokens, "trainable_tokens": p.trainable_tokens,
                 "train_seconds": p.train_seconds, "eval_loss": p.eval_loss}
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        tmp.rename(folder)
        self.save_adapter()
        return folder

    def load_checkpoint(self) -> None:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        from intone.errors import ConfigError

        folder = self.run_dir / CHECKPOINT
        try:
            # Tensors from safetensors, the rest with weights_only: a crafted checkpoint cannot run code.
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            step, tokens, trainable = state["step"], state["tokens"], state["trainable_tokens"]
            seconds, eval_loss = state["train_seconds"], state["eval_loss"]
            set_peft_model_state_dict(self.model, load_file(str(folder / "adapter.safetensors"), device=str(self.device)))
            self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location=self.device, weights_only=True))
            torch.set_rng_state(torch.load(folder / "rng.pt", weights_only=True)["torch"])
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign checkpoint is the user's input, not our bug
            raise ConfigError(
                f"{folder}: the checkpoint cannot be loaded ({type(exc).__name__}: {exc}); it is damaged or not "
                "from this run: train again with --out"
            ) from None
        p = self.progress
        p.step, p.tokens, p.trainable_tokens = step, tokens, trainable
        p.train_seconds, p.eval_loss = seconds, eval_loss
        # Metrics written after the checkpoint (a crash, not Ctrl-C) would be repeated: drop them.
        metrics = self.run_dir / "metrics.jsonl"
        if metrics.exists():
            kept = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
            kept = [r for r in kept if r["step"] <= p.step]
            metrics.write_text("".join(json.dumps(r) + "\n" for r in kept))
            p.history = kept
