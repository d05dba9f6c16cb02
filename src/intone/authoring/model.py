"""The dataset being edited: rows in file order, immutable record dicts, undoable edits.

No textual here: the list model is tested without a terminal. A record's dict is never mutated;
every edit builds a new one, so undo keeps plain references. A row counts its edits (`version`),
so "unchanged" is a number comparison, and an unchanged row keeps only its bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intone.authoring.record_edit import (  # noqa: F401 - re-exported: model was their home
    empty_record,
    insert_turn,
    move_turn,
    next_role,
    remove_turn,
    set_content,
    set_role,
    set_system,
    system_offset,
)
from intone.authoring.undo import Edit, UndoStack
from intone.lint.profile import word_count
from intone.schemas.jsonl import (
    BOM,
    Line,
    dump_record,
    line_bytes,
    read_jsonl_bytes,
    read_jsonl_path,
    validate_line,
    write_jsonl_atomic,
)
from intone.schemas.problems import ReadProblem
from intone.schemas.shape import Record, plainly_valid

ROLES = ("user", "assistant", "system")
_uids = itertools.count(1)


EDIT_LIMIT = 1 << 20
"""Lines longer than this (bytes) are shown and kept, not edited: a TextArea holding tens of
megabytes, and the rules run on it at every keystroke, would freeze the app."""

_NO_PROBLEMS: tuple[ReadProblem, ...] = ()


def parse_line(raw: bytes) -> Any:
    """The JSON value of one line's bytes, exactly as the reader parsed it when the file was opened."""
    return next(read_jsonl_bytes(raw, validate=False)).data


class Row:
    """One line of the file: an editable record, or a read-only line kept verbatim.

    A row read from the file keeps only its bytes; its record dict is parsed from them when asked
    for (`data`), so that a million-line file costs its bytes plus a small object per line. The
    row on screen is `materialize`d, so that it has one dict while it is being edited. `version`
    counts changes of `data`; `clean_version` is the version whose content is `clean_bytes`.
    """

    __slots__ = (
        "_data",
        "_record",
        "_record_of",
        "_search",
        "broken",
        "clean_bytes",
        "clean_version",
        "problems",
        "source_line",
        "too_long",
        "uid",
        "version",
    )

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        clean_bytes: bytes | None = None,
        problems: Iterable[ReadProblem] = (),
        source_line: int | None = None,
        *,
        lazy: bool = False,
    ) -> None:
        self._data = data
        self.clean_bytes = clean_bytes
        """The line's bytes on disk (terminator included); None for a row not yet saved."""
        self.broken = data is None and not lazy
        """The line cannot be read as a record (its `problems` say why); read-only."""
        self.too_long = clean_bytes is not None and len(clean_bytes) > EDIT_LIMIT
        """Longer than EDIT_LIMIT: linted, shown cut, kept as it is, but not edited here."""
        self.problems: list[ReadProblem] | tuple[ReadProblem, ...] = list(problems) or _NO_PROBLEMS
        """What the reader found wrong with the line (why a broken line could not be read)."""
        self.source_line = source_line
        """Line number in the file as opened or last saved (for messages and the journal)."""
        self.uid = next(_uids)
        self.version = 0
        self.clean_version: int | None = 0 if clean_bytes is not None else None
        self._search: str | None = None
        self._record: Record | None = None
        self._record_of: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Row(line={self.source_line}, uid={self.uid}, broken={self.broken}, dirty={self.dirty})"

    @property
    def data(self) -> dict[str, Any] | None:
        """The record as parsed JSON (unknown keys kept); None for a broken line. Never mutated."""
        data = self._data
        if data is not None or self.broken or self.clean_bytes is None:
            return data
        return parse_line(self.clean_bytes)

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value
        self.version += 1
        self._search = None

    @property
    def readonly(self) -> bool:
        return self.broken or self.too_long

    @property
    def dirty(self) -> bool:
        if self.clean_bytes is None:
            return True
        return self.version != self.clean_version and self.data != self.clean_data()

    def clean_data(self) -> dict[str, Any] | None:
        return None if self.broken or self.clean_bytes is None else parse_line(self.clean_bytes)

    def materialize(self) -> None:
        """Keep one parsed dict (the row being shown and edited)."""
        if self._data is None and not self.broken and self.clean_bytes is not None:
            self._data = parse_line(self.clean_bytes)

    def release(self) -> None:
        """Drop the parsed dict of an unchanged row (it is parsed again when needed)."""
        if self._data is not None and self.clean_bytes is not None and self.version == self.clean_version:
            self._data = self._record = self._record_of = None

    def encoded(self) -> bytes:
        """The bytes to save: the original line when unchanged, else the record re-serialized."""
        if not self.dirty:
            return self.clean_bytes  # type: ignore[return-value]
        return dump_record(self.data) + b"\n"

    def mark_clean(self, written: bytes) -> None:
        self.clean_bytes = written
        self.clean_version = self.version

    def record(self, data: dict[str, Any] | None = None) -> Record | None:
        """The validated record of `data` (default: the current data); kept while materialized."""
        if data is None:
            data = self.data
        if data is None:
            return None
        if self._record_of is data:
            return self._record
        line = Line(number=0, raw=b"", ending=b"", data=data)
        validate_line(line)  # imports pydantic on first use
        if data is self._data:
            self._record, self._record_of = line.record, data
        return line.record

    # --------------------------------------------------------------- views for the list

    @property
    def messages(self) -> list[dict[str, Any]]:
        data = self.data
        return data.get("messages", []) if data else []

    def prompt(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "user"), "")

    def answer_words(self) -> int:
        return sum(word_count(m["content"]) for m in self.messages if m.get("role") == "assistant")

    def tags(self) -> list[str]:
        data = self.data
        tags = data.get("tags") if data else None
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    def search_text(self) -> str:
        if self._search is None:
            if self.broken:
                self._search = (
                    self.clean_bytes.decode("utf-8", "replace").casefold() if self.clean_bytes else ""
                )
            else:
                self._search = "\n".join(m.get("content", "") for m in self.messages).casefold()
        return self._search


# ------------------------------------------------------------------------- the dataset


@dataclass
class DiskState:
    """What the file looked like when last read or written (outside-change detection)."""

    mtime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> DiskState | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_mtime_ns, st.st_size, st.st_ino)


class Dataset:
    """Rows of one JSONL file, with undo. Saving goes through the schemas atomic writer."""

    def __init__(self, path: str | os.PathLike[str], rows: list[Row] | None = None) -> None:
        self.path = Path(path)
        self.rows: list[Row] = rows or []
        self.undo = UndoStack()
        self.saved_token: int | None = 0
        self.disk: DiskState | None = None
        self.base_digest: str | None = None
        """sha256 of the file as last read or written (the journal refers to its lines)."""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Dataset:
        """Read `path`; a path that does not exist gives an empty dataset (created on save)."""
        dataset = cls(path)
        if dataset.path.exists():
            dataset.rows = list(rows_from_path(dataset.path))
        dataset.base_digest = file_digest(dataset.path)
        dataset.disk = DiskState.of(dataset.path)
        return dataset

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    @property
    def dirty(self) -> bool:
        return self.undo.token != self.saved_token

    # ------------------------------------------------------------------ undoable edits

    def replace(
        self,
        index: int,
        data: dict[str, Any],
        *,
        coalesce: tuple[Any, ...] | None = None,
        label: str = "edit",
    ) -> Edit:
        row = self.rows[index]
        if row.readonly:
            raise ReadOnlyRow(row)
        edit = Edit("replace", index, row.data, data, coalesce=coalesce, label=label)
        self.undo.push(edit)
        self.apply_edit(edit, forward=True)
        return edit

    def insert(self, index: int, data: dict[str, Any], *, label: str = "new example") -> Edit:
        row = Row(data=data)
        edit = Edit("insert", index, None, row, label=label)
        self.undo.push(edit)
        self.apply_edit(edit, forward=True)
        return edit

    def delete(self, index: int, *, label: str = "delete example") -> Edit:
        row = self.rows[index]
        if row.readonly:
            raise ReadOnlyRow(row)
        edit = Edit("delete", index, row, None, label=label)
        self.undo.push(edit)
        self.apply_edit(edit, forward=True)
        return edit

    def apply_edit(self, edit: Edit, forward: bool) -> None:
        if edit.kind == "replace":
            self.rows[edit.index].data = edit.after if forward else edit.before
        elif (edit.kind == "insert") == forward:
            row = edit.after if edit.kind == "insert" else edit.before
            self.rows.insert(edit.index, row)
        else:
            del self.rows[edit.index]

    # ------------------------------------------------------------------------- saving

    def encoded(self) -> list[bytes]:
        """Every line's bytes in order. Unchanged lines are their original bytes."""
        out: list[bytes] = []
        last = len(self.rows) - 1
        for i, row in enumerate(self.rows):
            data = row.encoded()
            if i and data.startswith(BOM):
                data = data[len(BOM) :]
            if i < last and not data.endswith(b"\n"):
                data += b"\n"  # a last line without newline is no longer last
            out.append(data)
        return out

    def save(self) -> None:
        """Write atomically (synchronous; the app runs it in a worker via `write_snapshot`)."""
        snapshot = self.snapshot()
        write_jsonl_atomic(self.path, snapshot.lines)
        self.saved(snapshot)

    def snapshot(self) -> SaveSnapshot:
        return SaveSnapshot(list(self.rows), [r.version for r in self.rows], self.encoded(), self.undo.token)

    def saved(self, snapshot: SaveSnapshot) -> None:
        """Record that `snapshot` is now on disk; rows edited since stay dirty."""
        for number, (row, version, written) in enumerate(
            zip(snapshot.rows, snapshot.versions, snapshot.lines), 1
        ):
            row.source_line = number
            if row.version == version:
                row.mark_clean(written)
            else:  # edited while saving: still dirty, its clean state is what was written
                row.clean_bytes, row.clean_version = written, version
        self.saved_token = snapshot.token
        self.base_digest = hashlib.sha256(b"".join(snapshot.lines)).hexdigest()
        self.disk = DiskState.of(self.path)

    def changed_on_disk(self) -> bool:
        return DiskState.of(self.path) != self.disk


@dataclass
class SaveSnapshot:
    rows: list[Row]
    versions: list[int]
    """Each row's `version` when its bytes were taken."""
    lines: list[bytes]
    token: int


class ReadOnlyRow(Exception):
    def __init__(self, row: Row) -> None:
        if row.broken:
            why = f"line {row.source_line} cannot be parsed and is read-only; fix it in a text editor"
        else:
            size = len(row.clean_bytes or b"")
            why = (
                f"line {row.source_line} is {size:,} bytes, too long to edit here; it is kept as it "
                "is (edit it in a text editor)"
            )
        super().__init__(why)
        self.row = row


def file_digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def rows_from_path(path: Path) -> Iterator[Row]:
    return rows_from_lines(read_jsonl_path(path, validate=False))


def rows_from_lines(lines: Iterable[Line]) -> Iterator[Row]:
    """Rows from lines read with `validate=False`. A line the pydantic-free check accepts keeps
    only its bytes; the others are validated here (pydantic) to tell records from broken lines."""
    for line in lines:
        raw = line_bytes(line)
        if not line.problems and plainly_valid(line.data):
            yield Row(clean_bytes=raw, source_line=line.number, lazy=True)
            continue
        validate_line(line)
        yield Row(
            clean_bytes=raw, problems=line.problems, source_line=line.number, lazy=line.record is not None
        )


def plain_rows(lines: Iterator[Line], limit: int) -> tuple[list[Row], Line | None]:
    """Up to `limit` rows for the first screen, without pydantic.

    Takes lines from `lines` (read with `validate=False`) while they are plainly valid records
    with no read problems and not too long to edit; returns those rows and the first line it did
    not take (None when `lines` ran out). That line and the rest go through `rows_from_lines`."""
    rows: list[Row] = []
    for line in lines:
        if len(rows) >= limit or line.problems or len(line.raw) > EDIT_LIMIT or not plainly_valid(line.data):
            return rows, line
        rows.append(Row(clean_bytes=line_bytes(line), source_line=line.number, lazy=True))
    return rows, None


def filter_rows(
    rows: list[Row], text: str = "", tag: str = "", problems_only: bool = False, worst=None
) -> list[int]:
    """Indices of rows matching the filter. `worst(row)` gives "error"/"warning"/... or None."""
    needle = text.casefold().strip()
    tag = tag.strip().casefold()
    out = []
    for i, row in enumerate(rows):
        if needle and needle not in row.search_text():
            continue
        if tag and tag not in (t.casefold() for t in row.tags()):
            continue
        if problems_only and (worst is None or worst(row) not in ("error", "warning")):
            continue
        out.append(i)
    return out


def parse_filter(query: str) -> tuple[str, str]:
    """Split "tag:story storm" into (text, tag)."""
    words, tag = [], ""
    for word in query.split():
        if word.casefold().startswith("tag:"):
            tag = word[4:]
        else:
            words.append(word)
    return " ".join(words), tag
