"""The training loop: setup, train, evaluate, save and resume.

A hand-written loop, because the loss needs logits only where labels are trained
(`intone.train.loss`): the decoder runs on the whole batch, but the vocabulary projection
(262k columns for Gemma) runs only on assistant positions.
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
from intone.train.loss import assistant_loss

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
