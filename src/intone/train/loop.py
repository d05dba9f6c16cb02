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


def setup_model(model, cfg: TrainConfig):
    """Wrap a loaded causal LM with LoRA (seeded init)."""
    import torch
    from peft import get_peft_model

    from intone.train.model import lora_config

    torch.manual_seed(cfg.seed)
    model.config.use_cache = False
    return get_peft_model(model, lora_config(cfg))


HEAD_CHUNK_BYTES = 128 << 20  # logits are computed this many bytes at a time
_BUFFERS: dict[tuple, Any] = {}


def assistant_loss(model, batch, *, backward_scale: float | None = None) -> tuple[Any, int]:
    """Summed cross-entropy over trained positions, and their count.

    Logits are computed only at trained positions, in chunks, so memory stays bounded however
    large the vocabulary. With `backward_scale`, the loss times the scale is back-propagated:
    the vocabulary projection by hand (in place, in one reused buffer; see `_head_loss`), the
    decoder by autograd.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = base.get_decoder(), base.get_output_embeddings()
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    hidden, targets = hidden[:, :-1][keep], labels[keep]
    n = int(targets.numel())
    train = backward_scale is not None and torch.is_grad_enabled()
    cap = getattr(base.config, "final_logit_softcapping", None)
    plain = (
        isinstance(head, torch.nn.Linear) and head.bias is None and not head.weight.requires_grad
        and head.weight.dtype == torch.float32 and not cap
    )
    if plain:
        total, grad = _head_loss(hidden.detach(), head.weight, targets, backward_scale if train else None)
        if train and n:
            hidden.backward(grad)
        return total, n
    return _head_loss_autograd(hidden, head, targets, cap, backward_scale if train else None), n


def _head_loss(hidden, weight, targets, scale: float | None):
    """Cross-entropy of `hidden @ weight.T` and, with `scale`, its gradient wrt `hidden`.

    Written out so that the (rows x vocabulary) logits live in one buffer that is reused: the
    softmax and its gradient (softmax - one-hot) are computed in place. Freshly allocated
    logits of hundreds of MB cost page faults on every step, and autograd would keep several.
    """
    import torch

    n, vocab = hidden.shape[0], weight.shape[0]
    rows = max(1, min(n, HEAD_CHUNK_BYTES // (4 * vocab)))
    key = (rows, vocab, hidden.device, hidden.dtype)
    buffer = _BUFFERS.get(key)
    if buffer is None:
        _BUFFERS.clear()
        buffer = _BUFFERS[key] = torch.empty((rows, vocab), device=hidden.device, dtype=hidden.dtype)
    grad = torch.empty_like(hidden) if scale is not None else None
    total = torch.zeros((), device=hidden.device, dtype=torch.float32)
    for start in range(0, n, rows):
        h, y = hidden[start : start + rows], targets[start : start + rows]
        logits = buffer[: h.shape[0]]
        torch.matmul(h, weight.t(), out=logits)
        picked = logits.gather(1, y[:, None]).squeeze(1)
        top = logits.max(dim=1).values
        logits.sub_(top[:, None]).exp_()
        norm = logits.sum(dim=1)
        total += (top + norm.log() - picked).sum()
        if grad is not None:
            logits.div_(norm[:, None])
            logits[torch.arange(h.shape[0], device=h.device), y] -= 1.0
            logits.mul_(scale)
            torch.matmul(logits, weight, out=grad[start : start + rows])
    return total, grad


def _head_loss_autograd(hidden, head, targets, cap, scale: float | None):
    """The general path (soft-capped logits, bf16 heads): chunked, each chunk back-propagated at once."""
    import torch.nn.functional as F

    rows = max(1, HEAD_CHUNK_BYTES // (4 * head.weight.shape[0]))
    inputs = hidden.detach().requires_grad_(True) if scale is not None else hidden
    total = 0.0
    for start in range(0, targets.numel(), rows):
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
    ) -> None:
        import torch

        from intone.train.device import tune_allocator

        tune_allocator()
        self.model, self.cfg, self.train_set, self.valid_set = model, cfg, list(train), list(valid)
        self.run_dir, self.device, self.pad_id = Path(run_dir), device, pad_id
        self.reporter = reporter or NullReporter()
        self.stop = StopFlag()
        self.total = total_steps(len(self.train_set), cfg)
        self.per_epoch = steps_per_epoch(len(self.train_set), cfg)
        self.progress = Progress()
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
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
            group["lr"] = lr
        total_loss = 0.0
        tokens = 0
        for examples in batches:
            batch = self._to_device(collate(examples, self.pad_id))
            loss_sum, _ = assistant_loss(self.model, batch, backward_scale=1.0 / n_trained)
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
                loss_sum, n = assistant_loss(self.model, batch)
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

        folder = self.run_dir / CHECKPOINT
        tmp = self.run_dir / f".{CHECKPOINT}.tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        torch.save(get_peft_model_state_dict(self.model), tmp / "adapter.pt")
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

        folder = self.run_dir / CHECKPOINT
        set_peft_model_state_dict(self.model, torch.load(folder / "adapter.pt", map_location=self.device))
        self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location=self.device))
        torch.set_rng_state(torch.load(folder / "rng.pt")["torch"])
        state = json.loads((folder / "state.json").read_text())
        p = self.progress
        p.step, p.tokens, p.trainable_tokens = state["step"], state["tokens"], state["trainable_tokens"]
        p.train_seconds, p.eval_loss = state["train_seconds"], state["eval_loss"]
        # Metrics written after the checkpoint (a crash, not Ctrl-C) would be repeated: drop them.
        metrics = self.run_dir / "metrics.jsonl"
        if metrics.exists():
            kept = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
            kept = [r for r in kept if r["step"] <= p.step]
            metrics.write_text("".join(json.dumps(r) + "\n" for r in kept))
            p.history = kept
