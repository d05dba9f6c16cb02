"""The editor's state and logic, without textual: which example is open, the filter, edits and
undo, the note in the status bar, loading, saving, the journal and outside changes.

`screens/editor.py` owns the widgets, keys and workers; it calls this and draws what it says.
Tests drive it over a `Dataset` without an App. An edit method returns a `Change` (how the views
must follow) or None when nothing changed; an edit of a read-only row raises `ReadOnlyRow`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intone.authoring import journal
from intone.authoring.live import LiveLint
from intone.authoring.model import (
    Dataset,
    DiskState,
    ReadOnlyRow,
    Row,
    SaveSnapshot,
    filter_rows,
    parse_filter,
    plain_rows,
    rows_from_lines,
)
from intone.authoring.panel_view import PanelView
from intone.authoring.record_edit import (
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
from intone.config import Settings
from intone.schemas.jsonl import Line, read_jsonl_path, write_jsonl_atomic

Labels = list[tuple[int, int, float]]  # (row uid, row number from 1, similarity): near duplicates


@dataclass(frozen=True)
class Change:
    """How the views follow an edit of row `index` (-1: a row went away)."""

    index: int
    structural: bool = False
    """Rows were added or removed: the list is rebuilt and the current example shown again."""
    reshow: bool = False
    """The example's turns changed shape: show it again (typing only refreshes its list entry)."""
    focus: bool = False
    """Focus a turn afterwards: `turn`, or the first empty one when `turn` is None."""
    turn: int | None = None
    clear_filter: bool = False
    """The filter hides the row: clear it first."""


class EditorState:
    """One open JSONL file in the editor. Every attribute the screen and its mixins share is here."""

    def __init__(self, path: Path, settings: Settings, dataset: Dataset | None = None) -> None:
        self.path = path
        self.settings = settings
        self.lines: Iterator[Line] | None = None
        """The file's lines still to read: the first screenful at once, the rest in a worker."""
        self.rest: Iterator[Row] | None = None
        """The rows after the first screenful, read (and validated) by the screen's worker."""
        if dataset is None:
            dataset = Dataset(path)
            dataset.disk = DiskState.of(path)
            self.lines = read_jsonl_path(path, validate=False) if path.exists() else None
        self.dataset = dataset
        """`dataset` when given (already read); else the file's rows, read as the screen opens."""
        self.reading = self.lines is not None
        """Rows are still being read: saving and the journal wait."""
        self.live = LiveLint(settings, str(path))
        self.current: int | None = 0 if dataset.rows else None
        """Index of the example shown, or None (no rows)."""
        self.filtered: list[int] | None = None
        """Indices the filter lets through, or None when there is no filter."""
        self.note = ""
        """What the status bar says about the last thing done."""
        self.schema_ready = False
        """Set once pydantic is loaded (just after the first paint)."""
        self.shown_row: Row | None = None
        """The row materialized for showing; released when another is shown."""
        self.saving = False
        self.quit_after_save = False
        self.asking = False
        """A dialog (outside change, recovery) is open: the disk is not checked meanwhile."""
        self.journal_due = False
        """Edits since the journal was last written."""
        self.journal_seq = 0
        """Numbers the journal writes: a write older than the newest, or than a discard, is dropped."""
        self.journal_lock = threading.Lock()

    # ------------------------------------------------------------------ loading

    def read_first_screen(self, limit: int) -> None:
        """The first `limit` rows without pydantic (about 200 ms to import); `rest` validates the
        others, starting at the first line that is not plainly valid."""
        if self.lines is None:
            return
        rows, stopped_at = plain_rows(self.lines, limit)
        self.dataset.rows.extend(rows)
        self.rest = rows_from_lines(itertools.chain([stopped_at] if stopped_at else [], self.lines))
        self.current = 0 if self.dataset.rows else None
        self.note = "loading…"

    def add_loaded(self, rows: list[Row], done: bool, digest: str | None = None) -> None:
        start = len(self.dataset.rows)
        self.dataset.rows.extend(rows)
        for index, row in enumerate(rows, start):
            if row.broken:
                self.live.update_row(row, index)
        if self.current is None and self.dataset.rows:
            self.current = 0
        if done:
            self.dataset.base_digest = digest
            self.reading = False
            self.rest = self.lines = None
            self.note = ""

    def reset_live(self) -> None:
        """After opening, reloading or recovering: a fresh live lint (record rules of broken rows
        now, the rest by the whole-file lint) and the current index kept in range."""
        self.live = LiveLint(self.settings, str(self.path), linter=self.live.linter)
        for index, row in enumerate(self.dataset.rows):
            if row.broken:
                self.live.update_row(row, index)
        rows = self.dataset.rows
        self.current = min(self.current or 0, len(rows) - 1) if rows else None

    @property
    def dirty(self) -> bool:
        """Edits not yet saved."""
        return self.dataset.dirty

    @property
    def busy(self) -> bool:
        """Reading, saving, whole-file lint or near-duplicate index still to come."""
        near_pending = self.live.has_similarity and self.live.near_index is None and bool(self.dataset.rows)
        return self.reading or self.saving or not self.live.ready or near_pending

    # ------------------------------------------------------------------ showing

    @property
    def row(self) -> Row | None:
        return self.dataset.rows[self.current] if self.current is not None else None

    def select(self, index: int | None) -> Row | None:
        """Show row `index` (None or out of range: none); returns the row shown."""
        self.dataset.undo.seal()
        rows = self.dataset.rows
        if self.shown_row is not None:
            self.shown_row.release()  # an unchanged row keeps only its bytes
        self.current = index if index is not None and 0 <= index < len(rows) else None
        row = self.row
        if row is not None and not row.too_long:
            row.materialize()  # one dict while it is shown and edited
        self.shown_row = row
        return row

    def lint_opened(self) -> bool:
        """Run the shown row's own rules if the whole-file lint has not reached it yet (just after
        opening). True when it ran."""
        row = self.row
        if (
            row is None
            or row.readonly  # a too-long line is checked by the whole-file lint, off this thread
            or not self.schema_ready
            or self.live.ready
            or row.uid in self.live.record_diags
        ):
            return False
        self.live.update_row(row, self.current)
        return True

    def panel_view(self, focused: int | None) -> tuple[PanelView, Labels]:
        """The lint panel for the shown row; `focused` is the turn with the focus, if any."""
        rows, row, index = self.dataset.rows, self.row, self.current or 0
        answer = None
        if row is not None and focused is not None and not row.readonly:
            roles = [m.get("role") for m in row.messages]
            if focused < len(roles) and roles[focused] == "assistant":
                answer = roles[:focused].count("assistant")
        view = self.live.panel(row if row is not None and not row.readonly else None, index, rows, answer)
        if row is not None and row.readonly:
            view.diagnostics = self.live.diagnostics_for(row, index, rows)
            view.checked = self.live.ready or row.uid in self.live.record_diags
        labels = []
        for uid, similarity in view.near:
            other = self.live.rows_by_uid.get(uid)
            if other is not None:
                labels.append((uid, rows.index(other) + 1, similarity))
        return view, labels

    # ------------------------------------------------------------------ filter

    def apply_filter(self, query: str, problems_only: bool) -> list[int] | None:
        text, tag = parse_filter(query)
        if text or tag or problems_only:
            worst = lambda r: "error" if r.broken else self.live.worst(r)
            self.filtered = filter_rows(self.dataset.rows, text, tag, problems_only, worst)
        else:
            self.filtered = None
        return self.filtered

    def clear_filter(self) -> None:
        self.filtered = None

    def hidden(self, index: int) -> bool:
        return self.filtered is not None and index not in self.filtered

    def index_of_uid(self, uid: int) -> int | None:
        row = self.live.rows_by_uid.get(uid)
        if row is None or row not in self.dataset.rows:
            return None
        return self.dataset.rows.index(row)

    def find_problem(self, direction: int) -> int | None:
        """The next row (+1) or previous (-1) with an error or warning, wrapping around."""
        rows = self.dataset.rows
        n = len(rows)
        start = self.current if self.current is not None else -direction
        for step in range(1, n + 1):
            index = (start + direction * step) % n
            row = rows[index]
            if row.broken or self.live.worst(row) in ("error", "warning"):
                return index
        self.note = "no problems found"
        return None

    # ------------------------------------------------------------------ edits (undoable)

    def touched(self, index: int) -> None:
        """Row `index` changed (-1: one went away): lint it, and journal the edit."""
        rows = self.dataset.rows
        if 0 <= index < len(rows):
            self.live.update_row(rows[index], index)
        self.journal_due = True
        self.note = ""

    def editable_row(self) -> Row | None:
        """The shown row, or None when none is shown. ReadOnlyRow when it cannot be edited."""
        row = self.row
        if row is not None and row.readonly:
            raise ReadOnlyRow(row)
        return row

    def type_text(self, message_index: int, text: str) -> Change | None:
        row = self.editable_row()
        if row is None or message_index >= len(row.messages):
            return None
        if row.messages[message_index].get("content") == text:
            return None  # the editor was just loaded from the model
        data = set_content(row.data, message_index, text)
        self.dataset.replace(self.current, data, coalesce=(row.uid, message_index), label="typing")
        self.touched(self.current)
        return Change(self.current)

    def change_role(self, message_index: int, role: str) -> Change | None:
        row = self.editable_row()
        if row is None:
            return None
        self.dataset.replace(self.current, set_role(row.data, message_index, role), label="change role")
        self.touched(self.current)
        return Change(self.current, reshow=True)

    def turn_action(self, action: str, i: int | None) -> Change | None:
        """`action` is add, remove, up, down, add-system or remove-system, on turn `i`."""
        row = self.editable_row()
        if row is None:
            return None
        data, focus = row.data, None
        if action == "add":
            data = insert_turn(data, len(row.messages), next_role(data))
            focus = len(row.messages)
        elif action == "remove" and i is not None:
            data = remove_turn(data, i)
        elif action in ("up", "down") and i is not None:
            target = i + (-1 if action == "up" else 1)
            if target < system_offset(data) or target >= len(row.messages):
                return None
            data = move_turn(data, i, target - i)
            focus = target
        elif action == "add-system":
            data, focus = set_system(data, ""), 0
        elif action == "remove-system":
            data = set_system(data, None)
        if data is row.data:
            return None
        self.dataset.replace(self.current, data, label=action.replace("-", " "))
        self.touched(self.current)
        return Change(self.current, reshow=True, focus=focus is not None, turn=focus)

    def new_example(self) -> Change:
        """An empty example after the shown one (at the end when none is shown)."""
        index = len(self.dataset.rows) if self.current is None else self.current + 1
        self.dataset.insert(index, empty_record())
        return self._inserted(index, focus=None)

    def add_example(self, record: dict[str, Any], label: str, note: str = "") -> Change:
        """`record` as a new example at the end (undo says `label`), shown with its last turn (the
        answer) focused; `note` goes in the status bar."""
        index = len(self.dataset.rows)
        self.dataset.insert(index, record, label=label)
        change = self._inserted(index, focus=len(record.get("messages", [])) - 1)
        self.note = note
        return change

    def _inserted(self, index: int, focus: int | None) -> Change:
        self.current = index
        change = Change(
            index, structural=True, focus=True, turn=focus, clear_filter=self.filtered is not None
        )
        if change.clear_filter:
            self.clear_filter()  # the new example must be in view
        self.touched(index)
        return change

    def duplicate(self) -> Change | None:
        row = self.editable_row()
        if row is None:
            return None
        self.dataset.insert(self.current + 1, dict(row.data), label="duplicate example")
        self.current += 1
        self.touched(self.current)
        return Change(self.current, structural=True)

    def delete(self) -> Change | None:
        row = self.editable_row()
        if row is None:
            return None
        self.dataset.delete(self.current)
        self.live.remove_row(row)
        self.current = min(self.current, len(self.dataset.rows) - 1) if self.dataset.rows else None
        self.touched(-1)
        return Change(-1, structural=True)

    def step(self, forward: bool) -> Change | None:
        """Undo (or redo, `forward`) one edit; None (and a note) when there is none."""
        word = "redo" if forward else "undo"
        undo = self.dataset.undo
        edit = (undo.redo if forward else undo.undo)(self.dataset)
        if edit is None:
            self.note = f"nothing to {word}"
            return None
        removed = (edit.kind == "insert") != forward if edit.kind != "replace" else False
        if edit.kind != "replace" and removed:
            self.live.remove_row(edit.after if edit.kind == "insert" else edit.before)
            self.current = min(edit.index, len(self.dataset.rows) - 1) if self.dataset.rows else None
            self.touched(-1)
            change = Change(-1, structural=True)
        else:
            self.current = edit.index
            self.touched(edit.index)
            change = Change(edit.index, structural=edit.kind != "replace", reshow=True)
        self.note = f"{word}: {edit.label}"
        return change

    # ------------------------------------------------------------------ saving

    def begin_save(self) -> SaveSnapshot | None:
        """What to write, or None: still reading (a note says so), or a save is under way."""
        if self.reading:
            self.note = "still reading the file; save again in a moment"
            return None
        if self.saving:
            return None
        self.saving = True
        self.note = "saving…"
        return self.dataset.snapshot()

    def write(self, snapshot: SaveSnapshot) -> str | None:
        """Write `snapshot` atomically (on a worker thread); None, or why it failed."""
        try:
            write_jsonl_atomic(self.path, snapshot.lines)
        except OSError as exc:
            return f"{self.path}: {exc.strerror or exc}"
        return None

    def finish_save(self, snapshot: SaveSnapshot, error: str | None) -> None:
        self.saving = False
        if error:
            self.note = "save failed; your edits are still in the journal"
            self.quit_after_save = False
            return
        self.dataset.saved(snapshot)
        count = len(snapshot.lines)
        self.note = f"saved {count} line{'' if count == 1 else 's'}"
        if self.dataset.dirty:
            self.journal_due = True
        else:
            self.discard_journal()

    # ------------------------------------------------------------------ journal, disk

    def journal_job(self) -> tuple[int, str | None, list[Any]] | None:
        """(seq, base digest, entries) for `write_journal` when edits are due, else None."""
        if not self.journal_due or self.reading:
            return None
        self.journal_due = False
        if not self.dataset.dirty:
            self.discard_journal()
            return None
        self.journal_seq += 1
        return self.journal_seq, self.dataset.base_digest, journal.snapshot_entries(self.dataset.rows)

    def write_journal(self, seq: int, base: str | None, entries: list[Any]) -> None:
        """On a worker thread. OSError when the journal cannot be written."""
        with self.journal_lock:  # a newer write or a discard wins over this one
            if seq != self.journal_seq:
                return
            journal.write_journal(self.path, base, entries)

    def discard_journal(self) -> None:
        with self.journal_lock:
            self.journal_seq += 1
            journal.discard_journal(self.path)

    def disk_changed(self) -> bool:
        """Another program changed the file, and nothing here is in the way of asking about it."""
        return not (self.saving or self.asking or self.reading) and self.dataset.changed_on_disk()

    def reload(self) -> None:
        self.dataset = Dataset.load(self.path)
        self.note = "reloaded from disk"
        self.discard_journal()

    def keep_mine(self) -> None:
        self.dataset.disk = DiskState.of(self.path)
        self.dataset.saved_token = None
        self.note = "kept your version; save to overwrite the file"

    def recover(self, entry: journal.JournalEntry) -> None:
        self.note = journal.recover(self.dataset, entry)
        self.journal_due = True

    def drop_journal(self) -> None:
        self.discard_journal()
        self.note = "journal discarded"
