"""The run folder's record of what happened: manifest.json, loss.png, and the progress display."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """A JSON object file of the run folder; damaged, unreadable or not an object, a ConfigError
    naming it and `fix`."""
    from intone.errors import ConfigError

    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ConfigError(f"{path}: not valid JSON{where}; {fix}") from None
    except (RecursionError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read as JSON ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(data).__name__}; {fix}")
    return data


RECORD_FILES = frozenset({"config.toml", "manifest.json", "metrics.jsonl", "loss.png"})


def remove_failed_run(folder: Path) -> None:
    """Remove a run folder this command created when the run failed before saving any weights:
    it holds only the run's own records (no checkpoint/, no adapter/), cannot be resumed, and would
    block `--out` with the same name. Anything else in it keeps it."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    if all(p.is_file() and (p.name in RECORD_FILES or p.name.endswith(".tmp")) for p in entries):
        for p in entries:
            p.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("intone", "torch", "transformers", "peft"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def plot_loss(history: list[dict[str, Any]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in history if "loss" in r]
    losses = [r["loss"] for r in history if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in history if "eval_loss" in r]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, losses, label="train loss (assistant tokens)", color="#3b6ea5")
    if evals:
        ax.plot([s for s, _ in evals], [v for _, v in evals], "o-", label="eval loss", color="#c05a2b")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = target.with_name(f".{target.stem}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, target)


class BarReporter:
    """A rich progress bar on a terminal; a plain line now and then otherwise (CI logs)."""

    def __init__(self) -> None:
        self._bar = None
        self._task = None
        self._total = 0
        self._every = 1
        self._started = 0.0
        self._done_at_start = 0

    def start(self, total_steps: int, done_steps: int) -> None:
        self._total, self._done_at_start = total_steps, done_steps
        self._started = time.perf_counter()
        self._every = max(1, total_steps // 20)
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}  {task.fields[tps]} tok/s  eval {task.fields[eval]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
            self._task = self._bar.add_task("train", total=total_steps, completed=done_steps, loss="-", tps="-", eval="-")

    def step(self, record: dict[str, Any]) -> None:
        loss, tps = f"{record['loss']:.3f}", f"{record['tokens_per_s']:.0f}"
        if self._bar is not None:
            self._bar.update(self._task, completed=record["step"], loss=loss, tps=tps)
            return
        step = record["step"]
        if step % self._every == 0 or step == self._total or step == self._done_at_start + 1:
            rate = (time.perf_counter() - self._started) / max(1, step - self._done_at_start)
            eta = rate * (self._total - step)
            print(f"step {step}/{self._total}  loss {loss}  {tps} tok/s  ETA {_clock(eta)}", file=sys.stderr, flush=True)

    def evaluated(self, record: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(self._task, eval=f"{record['eval_loss']:.3f}")
        else:
            print(f"eval at step {record['step']}: loss {record['eval_loss']:.4f}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
