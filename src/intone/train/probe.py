"""`intone probe`: generate replies over prompts and a grid of settings, measured against the
voice the run was trained on (`probe_measure.py` measures, `probe_report.py` draws).

Inputs, all checked before a model loads (bad input exits 2 and writes nothing):

- Prompts: `--prompts FILE`, else the run's eval file (config.toml `eval`), else the held-out
  split it recorded (manifest.json `eval.split`, rebuilt with the same fraction and seed). A
  record is `{"prompt": "..."}` or `{"messages": [...]}` ending with a user turn, or with an
  assistant turn, which is then the reference answer. It may carry
  `"expect": {"mention": ["Keepy Uppy"], "avoid": ["as an AI"], "words": [20, 80]}`: phrases
  the reply should mention, phrases it must not, and a word range (any key may be left out).
- The grid: `KEY=V1,V2 ...` with KEY one of temperature, top-p, top-k, repetition-penalty,
  min-new-tokens, max-new-tokens (underscores accepted); every combination is a setting, and a
  key not in the grid keeps `intone sample`'s default.
- Seeds: the replies of one setting (every sample of every prompt, sample by sample) are
  generated in batches of up to `CHUNK` rows; batch c is drawn from a generator seeded
  `--seed + c`, the same for every setting and source, so the same inputs give the same replies.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from intone.errors import UsageError
from intone.lint.replies import Expect
from intone.train.sample import GenerationOptions, Reply

CHUNK = 48
"""Replies generated together (one setting). Measured with intone's decoder on the 270M model on
this 2-core CPU (fp32, one decoding step): 8 rows 185 ms (43 new tokens/s), 16 rows 280 ms (57),
32 rows 475 ms (67). Replies that stop leave the batch, so a step costs about 70 ms plus 12 ms a
live reply: a batch waits for its longest reply at the 70 ms rate, and fewer, bigger batches wait
less in all (bench/probe_speed.py, 180 replies: 469 s in batches of 15, 362 s in batches of 45)."""
SETTING_KEYS = ("temperature", "top_p", "top_k", "repetition_penalty", "min_new_tokens", "max_new_tokens")
GRID_KEYS: dict[str, type] = {
    "temperature": float, "top_p": float, "top_k": int, "repetition_penalty": float,
    "min_new_tokens": int, "max_new_tokens": int,
}
_SHORT = {"temperature": "t", "repetition_penalty": "rp", "min_new_tokens": "min",
          "top_p": "p", "top_k": "k", "max_new_tokens": "max"}


# ---------------------------------------------------------------------------- settings


def setting_dict(opts: GenerationOptions) -> dict[str, Any]:
    return {key: getattr(opts, key) for key in SETTING_KEYS}


def setting_id(opts: GenerationOptions) -> str:
    """"t0.6-rp1.15-min40", plus top-p, top-k and max-new-tokens where they are not the defaults."""
    default = GenerationOptions()
    parts = []
    for key, short in _SHORT.items():
        value = getattr(opts, key)
        if key in ("temperature", "repetition_penalty", "min_new_tokens") or value != getattr(default, key):
            parts.append(f"{short}{value:g}")
    return "-".join(parts)


def parse_grid(items: Sequence[str], base: GenerationOptions | None = None) -> list[GenerationOptions]:
    """Every combination of `KEY=V1,V2` items, in the order given; UsageError when malformed."""
    base = base or GenerationOptions()
    axes: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        name = key.strip().lower().replace("-", "_")
        if not sep or name not in GRID_KEYS:
            keys = ", ".join(k.replace("_", "-") for k in GRID_KEYS)
            raise UsageError(f"--grid {item!r}: expected KEY=V1,V2,... with KEY one of {keys}, "
                             "e.g. --grid temperature=0.6,0.9 repetition-penalty=1.0,1.15")
        if name in axes:
            raise UsageError(f"--grid {item!r}: {key.strip()} is given twice; list all its values in one item")
        parsed = []
        for text in values.split(","):
            try:
                parsed.append(GRID_KEYS[name](text.strip()))
            except ValueError:
                kind = "a whole number" if GRID_KEYS[name] is int else "a number"
                raise UsageError(f"--grid {item!r}: {text.strip()!r} is not {kind}") from None
        axes[name] = list(dict.fromkeys(parsed))
    settings = []
    for combo in itertools.product(*axes.values()):
        opts = replace(base, **dict(zip(axes, combo, strict=True)))
        check_setting(opts)
        settings.append(opts)
    return settings or [base]


def check_setting(opts: GenerationOptions) -> None:
    """The bounds `intone sample` holds its flags to."""
    where = f"--grid setting {setting_id(opts)}"
    for key, low_open in (("temperature", False), ("top_p", True), ("repetition_penalty", True)):
        value = getattr(opts, key)
        if not math.isfinite(value) or value < 0 or (low_open and value == 0) or (key == "top_p" and value > 1):
            bound = "in (0, 1]" if key == "top_p" else "0 or more" if key == "temperature" else "greater than 0"
            raise UsageError(f"{where}: {key.replace('_', '-')} {value:g} must be a finite number {bound}")
    if opts.max_new_tokens < 1:
        raise UsageError(f"{where}: max-new-tokens must be at least 1")
    if opts.top_k < 0 or opts.min_new_tokens < 0 or opts.min_new_tokens > opts.max_new_tokens:
        raise UsageError(f"{where}: top-k and min-new-tokens must be 0 or more, and min-new-tokens at most "
                         "max-new-tokens")


# ---------------------------------------------------------------------------- prompts


@dataclass
class Prompt:
    index: int
    where: str
    """file:line"""
    messages: tuple[tuple[str, str], ...]
    """The conversation to reply to (ends with a user turn)."""
    reference: str | None = None
    expect: Expect | None = None


def load_prompts(path: Path) -> list[Prompt]:
    """Prompts of a file; any line that is not one (no user turn to reply to, bad JSON, a bad
    `expect`) is a UsageError naming it: a probe takes minutes, so it does not start on half a file."""
    from intone.schemas.jsonl import read_jsonl_path
    from intone.train.sample import read_prompts

    if not path.is_file():
        raise UsageError(f"--prompts {path}: no such file")
    skipped: list[str] = []
    found = read_prompts(path, warn=skipped.append)
    data = {line.number: line.data for line in read_jsonl_path(path, validate=False) if not line.blank}
    problems = [s.removeprefix("skipped ") for s in skipped]
    prompts = []
    for where, turns in found:
        number = int(where.rsplit(":", 1)[1])
        record = data.get(number) or {}
        expect = None
        if "expect" in record:
            try:
                expect = Expect.parse(record["expect"])
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
        reference = None
        messages = record.get("messages")
        if isinstance(messages, list) and messages and messages[-1].get("role") == "assistant":
            reference = messages[-1].get("content")
        prompts.append(Prompt(len(prompts), where, tuple(turns), reference, expect))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise UsageError(f"prompts: {'; '.join(problems[:3])}{more}; fix or remove these lines (each needs a "
                         'user turn to reply to: {"prompt": "..."} or {"messages": [..., {"role": "user", ...}]})')
    return prompts


@dataclass
class RunInfo:
    """What the probe reads from a run folder before loading anything."""

    run_dir: Path
    config: Any
    manifest: dict[str, Any]
    data: Path | None
    """The training file (None when it cannot be found)."""
    held_out: set[int] = field(default_factory=set)
    """Lines of the training file held out as its eval split (not trained on)."""
    data_changed: bool = False
    """The training file's sha256 differs from the one the run recorded."""

    @property
    def model_id(self) -> Any:
        model = self.manifest.get("model") or {}
        return model.get("sha256") or self.config.model


def read_run(run_dir: Path, flag: str = "RUN_DIR") -> RunInfo:
    """The run's config, manifest and training file; UsageError when it is not a usable run."""
    from intone.errors import ConfigError
    from intone.train.rundir import read_json_object
    from intone.train.sample import check_adapter, run_config

    if not run_dir.is_dir():
        raise UsageError(f"{flag} {run_dir}: no such run folder")
    try:
        cfg = run_config(run_dir)
        adapter = run_dir / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            raise UsageError(f"{run_dir}: no adapter/ yet; the run saved no weights (train it, or --resume it)")
        check_adapter(adapter)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    manifest_path = run_dir / "manifest.json"
    manifest = read_json_object(manifest_path, "it is the run's record") if manifest_path.is_file() else {}
    data = None
    recorded = (manifest.get("dataset") or {}).get("path")
    if recorded:
        for candidate in (Path(recorded), run_dir.parent / recorded, run_dir / recorded):
            if candidate.is_file():
                data = candidate
                break
    info = RunInfo(run_dir, cfg, manifest, data)
    recorded_sha = (manifest.get("dataset") or {}).get("sha256")
    if data is not None and recorded_sha:
        from intone.train.preflight import file_sha256

        info.data_changed = file_sha256(data) != recorded_sha
    split = manifest.get("eval") or {}
    if data is not None and split.get("split") == "val-fraction":
        from intone.train.data import read_conversations, split_holdout

        records, _broken = read_conversations(data)
        _train, valid = split_holdout(records, float(split.get("fraction", 0)), int(split.get("seed", 0)))
        info.held_out = {line for line, _m in valid}
    return info


def default_prompts(info: RunInfo) -> tuple[list[Prompt], str]:
    """The run's eval file, or its held-out split: (prompts, where they come from)."""
    if info.config.eval:
        path = Path(info.config.eval)
        if not path.is_file() and (info.run_dir.parent / path).is_file():
            path = info.run_dir.parent / path
        if not path.is_file():
            raise UsageError(f"{info.run_dir}: its eval file {info.config.eval} is gone; give --prompts FILE")
        return load_prompts(path), f"eval file {path}"
    if info.held_out and info.data is not None:
        from intone.train.data import read_conversations

        records, _broken = read_conversations(info.data)
        prompts = []
        for line, messages in records:
            if line not in info.held_out or not messages or messages[-1][0] != "assistant":
                continue
            turns = messages[:-1]
            if turns and turns[-1][0] == "user":
                prompts.append(Prompt(len(prompts), f"{info.data}:{line}", turns, messages[-1][1]))
        if prompts:
            return prompts, f"held-out split of {info.data} ({len(prompts)} records)"
    raise UsageError(f"{info.run_dir}: the run recorded no eval file and no held-out split to probe with; "
                     "give --prompts FILE (JSONL: {\"prompt\": \"...\"} or messages records)")


def training_profile(info: RunInfo):
    """The dataset profile of what the run trained on (its held-out lines left out)."""
    from intone.lint.profile import DatasetProfile
    from intone.schemas.jsonl import read_jsonl_path

    if info.data is None:
        recorded = (info.manifest.get("dataset") or {}).get("path", "?")
        raise UsageError(f"{info.run_dir}: its training file ({recorded}) is not found; probe measures replies "
                         "against it (run from the folder you trained in)")
    profile = DatasetProfile(path=str(info.data))
    for line in read_jsonl_path(info.data):
        if not line.blank and line.record is not None and line.number not in info.held_out:
            profile.add(line)
    if not profile.answers():
        raise UsageError(f"{info.data}: no assistant answers to measure replies against")
    return profile


def check_same_base(a: RunInfo, b: RunInfo) -> None:
    """--compare needs two adapters on one base model: otherwise it compares base models."""
    if a.model_id != b.model_id:
        name_a = (a.manifest.get("model") or {}).get("id") or a.config.model
        name_b = (b.manifest.get("model") or {}).get("id") or b.config.model
        raise UsageError(f"--compare {b.run_dir}: trained on another base model ({name_b}) than {a.run_dir} "
                         f"({name_a}); compare runs of one base model")


# ---------------------------------------------------------------------------- generation


@dataclass
class Generated:
    prompt: Prompt
    source: str
    """"tuned", "base" or "compare"."""
    run: Path
    opts: GenerationOptions
    sample: int
    seed: int
    reply: Reply


@dataclass
class Job:
    source: str
    run: Path
    base: bool
    opts: GenerationOptions
    chunk: int
    rows: list[tuple[int, Prompt]]
    """(sample number, prompt) of each reply."""

    @property
    def seed(self) -> int:
        return self.opts.seed + self.chunk


def plan(prompts: list[Prompt], settings: list[GenerationOptions], samples: int, seed: int,
         sources: Sequence[tuple[str, Path, bool]]) -> list[Job]:
    """Batches in generation order: by source (one model load each run), setting, sample."""
    jobs = []
    for source, run, base in sources:
        for opts in settings:
            opts = replace(opts, seed=seed)
            rows = [(sample, prompt) for sample in range(samples) for prompt in prompts]
            for chunk, start in enumerate(range(0, len(rows), CHUNK)):
                jobs.append(Job(source, run, base, opts, chunk, rows[start : start + CHUNK]))
    return jobs


def generate(jobs: list[Job], load: Callable[[Path], Any], progress: Callable[[int], None] | None = None
             ) -> list[Generated]:
    """Run the batches, loading each run's model once (`load(run_dir)`), in order."""
    import gc

    from intone.train.sample import generate_batch

    out: list[Generated] = []
    loaded, loaded_run = None, None
    for job in jobs:
        if job.run != loaded_run:
            loaded = None
            gc.collect()
            loaded, loaded_run = load(job.run), job.run
        opts = replace(job.opts, seed=job.seed)
        done = [0]

        def finished(_row: int, done=done) -> None:
            done[0] += 1
            if progress is not None:
                progress(1)

        replies = generate_batch(loaded, [p.messages for _, p in job.rows], opts, base=job.base, on_done=finished)
        for (sample, prompt), reply in zip(job.rows, replies, strict=True):
            out.append(Generated(prompt, job.source, job.run, job.opts, sample, job.seed, reply))
        if progress is not None and len(replies) > done[0]:
            progress(len(replies) - done[0])  # a path that does not say when each reply is done
    return out


class Progress:
    """A bar with an ETA on a terminal's stderr; a plain line every tenth otherwise."""

    def __init__(self, total: int, label: str = "probe") -> None:
        self.total, self.done, self.label = total, 0, label
        self.started = time.perf_counter()
        self.next_line = 0
        self._bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("replies  ETA"),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)

    def __call__(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        if self.done >= self.next_line or self.done == self.total:
            seconds = time.perf_counter() - self.started
            eta = seconds / self.done * (self.total - self.done)
            print(f"{self.label}: {self.done}/{self.total} replies, {seconds:.0f} s, ETA {eta:.0f} s",
                  file=sys.stderr, flush=True)
            self.next_line = self.done + max(1, self.total // 10)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
