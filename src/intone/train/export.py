"""`intone export`: seeded train/valid(/test) splits with no prompt in two splits.

Records that share a prompt (their user turns, case and spacing folded) form one group, and a
group goes to one split; so does every record chained to it through a shared prompt. A record's
own `split` field ("train", "valid", "test") pins its whole group. Output is the messages chat
format that mlx-lm (`--data DIR`), TRL and axolotl (`type: chat_template`) read; `--for TRAINER`
adds a ready config for that trainer beside the splits (see `handoff.py`).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from intone.train.data import prompt_key

SPLITS = ("train", "valid", "test")


class ExportError(ValueError):
    pass


MERGED_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                          "tokenizer.model")


def merged_weights(loaded):
    """A plain transformers model: the adapter of `load_for_generation`'s model (LoRA and the
    trained token rows) merged into the weights. `intone merge` and `intone export-model` use it."""
    merged = loaded.model.merge_and_unload()
    merged.config.use_cache = True
    return merged


def save_merged(merged, tokenizer_folder: Path, folder: Path) -> None:
    """`intone merge`'s folder: safetensors weights, config and the run's tokenizer files."""
    import shutil

    merged.save_pretrained(str(folder), safe_serialization=True)
    for name in MERGED_TOKENIZER_FILES:
        source = tokenizer_folder / name
        if source.is_file():
            shutil.copy2(source, folder / name)


def export(
    data: Path, to: Path, *, valid: float, test: float, seed: int, force: bool = False, trainer: str | None = None,
    model: str | None = None,
) -> int:
    from intone.config import load_settings
    from intone.lint.engine import Linter, LintResult
    from intone.lint.reporters import report
    from intone.schemas.jsonl import read_jsonl_path, write_jsonl_atomic

    settings = load_settings(start=data.resolve().parent)
    settings.cache = False
    result = LintResult([Linter(settings).lint_path(data)])
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors and not force:
        report(LintResult([type(result.files[0])(str(data), errors)]), "text", sys.stderr)
        print(f"export refused: {len(errors)} lint error(s); fix them or pass --force", file=sys.stderr)
        return 1

    rows: list[tuple[int, dict, str, str | None]] = []  # line, record, prompt key, pinned split
    for line in read_jsonl_path(data):
        if line.record is None:
            continue
        record = line.record
        pinned = record.split
        if pinned is not None and pinned not in SPLITS:
            raise ExportError(f"{data}:{line.number}: split: {pinned!r} is not one of train, valid, test")
        # The record as written (id, tags, notes and any other field kept, in their order).
        rows.append((line.number, line.data, prompt_key(tuple((m.role, m.content) for m in record.messages)), pinned))
    if not rows:
        raise ExportError(f"{data}: no valid records to export")

    groups = _groups(rows)
    assignment: dict[int, str] = {}
    free: list[int] = []
    for gid, members in groups.items():
        pins = {rows[i][3] for i in members if rows[i][3]}
        if len(pins) > 1:
            lines = ", ".join(str(rows[i][0]) for i in members)
            raise ExportError(f"{data}: lines {lines} share a prompt but pin different splits ({', '.join(sorted(pins))})")
        if pins:
            assignment[gid] = pins.pop()
        else:
            free.append(gid)
    random.Random(seed).shuffle(free)
    n_valid, n_test = round(len(free) * valid), round(len(free) * test)
    if valid > 0 and n_valid == 0 and len(free) > 1:
        n_valid = 1
    for k, gid in enumerate(free):
        assignment[gid] = "valid" if k < n_valid else "test" if k < n_valid + n_test else "train"

    planned = {}
    for split in SPLITS:
        chosen = [rows[i][1] for gid, members in sorted(groups.items()) if assignment[gid] == split for i in members]
        if split == "test" and test == 0 and not chosen:
            continue
        planned[split] = chosen
    configs = _handoff_files(trainer, settings, data, to, planned, model) if trainer else {}
    _check_outputs(data, [to / f"{split}.jsonl" for split in planned] + [to / name for name in configs], overwrite=force)
    if trainer in ("trl", "axolotl"):
        _warn_mixed_fields(planned)
    created = _make_folder(to)
    counts = {}
    try:
        for split, chosen in planned.items():
            write_jsonl_atomic(to / f"{split}.jsonl", chosen)
            counts[split] = len(chosen)
        for name, text in configs.items():
            write_jsonl_atomic(to / name, [text.encode("utf-8")])
    except BaseException:
        if created:
            _remove_if_empty(created)
        raise
    summary = ", ".join(f"{split}.jsonl {n}" for split, n in counts.items())
    print(f"exported {len(rows)} records from {data} to {to}: {summary} (seed {seed}, {len(groups)} prompt groups)")
    if configs:
        print(f"{trainer} config: {', '.join(configs)}; the command to run is at the top of {next(iter(configs))}")
    return 0


def _handoff_files(trainer: str, settings, data: Path, to: Path, planned: dict[str, list[dict]],
                   model: str | None) -> dict[str, str]:
    """The trainer's config files, from [tool.intone.train] (or the defaults) and `--model`."""
    from intone.train.config import load_config
    from intone.train.handoff import HandoffError, SplitFacts, files_for

    where = f"{settings.source} [tool.intone.train]" if settings.source else "[tool.intone.train]"
    cfg = load_config({"model": model} if model else {}, None, settings.train, where)
    multi = sum(
        1 for record in planned.get("train", [])
        if sum(1 for m in record["messages"] if isinstance(m, dict) and m.get("role") == "assistant") > 1
    )
    facts = SplitFacts(to.resolve(), {split: len(chosen) for split, chosen in planned.items()}, multi)
    try:
        return files_for(trainer, cfg, facts, str(data))
    except HandoffError as exc:
        raise ExportError(str(exc)) from None


def _warn_mixed_fields(planned: dict[str, list[dict]]) -> None:
    """datasets.load_dataset (TRL, axolotl) gives a field one type across all records and fails on
    a field that is, say, a number in one record and a string in another: say so now."""
    kinds: dict[str, set[str]] = {}
    for chosen in planned.values():
        for record in chosen:
            for key, value in record.items():
                if key != "messages" and value is not None:
                    kinds.setdefault(key, set()).add(type(value).__name__)
    for key, seen in sorted(kinds.items()):
        if len(seen) > 1:
            print(
                f"warning: field {key!r} is {' and '.join(sorted(seen))} in different records; datasets.load_dataset, "
                "which TRL and axolotl read the splits with, needs one type per field: make it one type",
                file=sys.stderr,
            )


def _check_outputs(data: Path, outputs: list[Path], *, overwrite: bool) -> None:
    """Refuse before writing anything: an output may never replace the input (same path, a link
    to it, a hard link), and replaces another existing file only with --force."""
    existing = [out for out in outputs if out.exists() or out.is_symlink()]
    for out in existing:
        try:
            same = out.exists() and os.path.samefile(out, data)
        except OSError:
            same = False
        if same:
            raise ExportError(
                f"{out} is the input {data} (the same file, a link or a hard link to it); "
                "exporting would replace the data with one split: choose another --to folder"
            )
    if existing and not overwrite:
        names = ", ".join(str(out) for out in existing)
        raise ExportError(f"{names} already exist(s); choose another --to folder, or pass --force to replace")


def _make_folder(to: Path) -> Path | None:
    """Create `to` (and missing parents); return the topmost folder created, or None."""
    missing = [p for p in (to, *to.parents) if not p.exists()]
    to.mkdir(parents=True, exist_ok=True)
    return missing[-1] if missing else None


def _remove_if_empty(top: Path) -> None:
    """Undo `_make_folder` after a failed write: remove created folders that hold nothing."""
    for folder in sorted((p for p in [top, *top.rglob("*")] if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            pass


def _groups(rows) -> dict[int, list[int]]:
    """Union records that share a prompt key (any user turn) into groups, by record index."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, (_, record, _key, _) in enumerate(rows):
        for m in record["messages"]:
            if m["role"] != "user":
                continue
            turn = " ".join(m["content"].lower().split())
            if turn in first_with:
                parent[find(i)] = find(first_with[turn])
            else:
                first_with[turn] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(find(i), []).append(i)
    return groups
