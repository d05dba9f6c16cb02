"""The journal: unsaved edits written beside the dataset, so a crash or kill loses nothing.

`.NAME.intone-journal` holds the file's digest when it was opened or saved, and the rows in
order: a line number of that file for unchanged lines, or the edited record itself. It is
rewritten atomically (temp file, fsync, rename) within a second of an edit and deleted on save.
No textual here.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intone.authoring.model import Dataset, Row, file_digest, rows_from_path

VERSION = 1


def journal_path(dataset_path: Path) -> Path:
    return dataset_path.with_name(f".{dataset_path.name}.intone-journal")


@dataclass
class JournalEntry:
    base_digest: str | None
    entries: list[Any]
    """int: line number (1-based) of the base file; dict: an edited or new record."""

    @property
    def edited(self) -> int:
        return sum(1 for e in self.entries if isinstance(e, dict))


def snapshot_entries(rows: list[Row]) -> list[Any]:
    """The journal's rows: a line number for an unchanged line, else the record.

    Safe in a worker thread on a copy of the row list: a record dict is never mutated, so a
    row read mid-edit gives its old or its new state, and the next journal write catches up.
    An edited row that was undone back to its saved state is written as a record (still right).
    """
    return [
        r.source_line
        if r.version == r.clean_version and r.source_line is not None and r.clean_bytes is not None
        else r.data
        for r in rows
    ]


def write_journal(path: Path, base_digest: str | None, entries: list[Any]) -> None:
    target = journal_path(path)
    payload = {"intone-journal": VERSION, "file": path.name, "base": base_digest, "rows": entries}
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_journal(path: Path) -> JournalEntry | None:
    """The journal beside `path`, or None when there is none or it is unreadable."""
    try:
        payload = json.loads(journal_path(path).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("intone-journal") != VERSION:
        return None
    rows = payload.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, (int, dict)) for r in rows):
        return None
    return JournalEntry(payload.get("base"), rows)


def discard_journal(path: Path) -> None:
    try:
        journal_path(path).unlink()
    except FileNotFoundError:
        pass


def recover(dataset: Dataset, journal: JournalEntry) -> str:
    """Rebuild the dataset's rows from the journal; returns a sentence saying what happened.

    When the file still has the digest the journal was based on, the rows come back exactly.
    When it changed since, the file's rows are kept and the journal's edited records are
    appended after them, so neither side's work is lost.
    """
    base_rows = list(rows_from_path(dataset.path)) if dataset.path.exists() else []
    by_line = {r.source_line: r for r in base_rows}
    if journal.base_digest == file_digest(dataset.path):
        rows: list[Row] = []
        for entry in journal.entries:
            if isinstance(entry, dict):
                rows.append(Row(data=entry))
            elif entry in by_line:
                rows.append(by_line.pop(entry))
        message = f"recovered {journal.edited} edited example(s) from the journal"
    else:
        rows = base_rows + [Row(data=e) for e in journal.entries if isinstance(e, dict)]
        message = (
            f"{dataset.path.name} changed since the journal was written: its lines are kept and "
            f"the journal's {journal.edited} edited example(s) are appended at the end"
        )
    dataset.rows = rows
    dataset.undo.clear()
    dataset.saved_token = None  # recovered edits are unsaved
    return message
