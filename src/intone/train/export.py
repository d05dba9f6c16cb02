"""`intone export`: seeded train/valid(/test) splits with no prompt in two splits.

Records that share a prompt (their user turns, case and spacing folded) form one group, and a
group goes to one split; so does every record chained to it through a shared prompt. A record's
own `split` field ("train", "valid", "test") pins its whole group. Output is the messages chat
format that mlx-lm (`--data DIR`), TRL and axolotl (`type: chat_template`) read.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from intone.train.data import prompt_key

SPLITS = ("train", "valid", "test")


class ExportError(ValueError):
    pass


def export(data: Path, to: Path, *, valid: float, test: float, seed: int, force: bool = False) -> int:
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
        messages = [{"role": m.role, "content": m.content} for m in record.messages]
        pinned = record.split
        if pinned is not None and pinned not in SPLITS:
            raise ExportError(f"{data}:{line.number}: split: {pinned!r} is not one of train, valid, test")
        rows.append((line.number, {"messages": messages}, prompt_key(tuple((m.role, m.content) for m in record.messages)), pinned))
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

    to.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in SPLITS:
        chosen = [rows[i][1] for gid, members in sorted(groups.items()) if assignment[gid] == split for i in members]
        if split == "test" and test == 0 and not chosen:
            continue
        write_jsonl_atomic(to / f"{split}.jsonl", chosen)
        counts[split] = len(chosen)
    summary = ", ".join(f"{split}.jsonl {n}" for split, n in counts.items())
    print(f"exported {len(rows)} records from {data} to {to}: {summary} (seed {seed}, {len(groups)} prompt groups)")
    return 0


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
