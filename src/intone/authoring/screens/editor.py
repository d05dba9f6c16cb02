"""The main screen: example list, conversation editor, lint panel, status bar.

Widgets post intents (Picked, Edited, TurnAction, Jump); this screen changes the dataset through
the model (undoable), updates the live lint for the one edited record, and refreshes the views.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Footer, Input
from textual.worker import get_current_worker

from intone.authoring import journal
from intone.authoring.live import Cancelled, FullLint, LiveLint
from intone.authoring.model import (
    Dataset,
    DiskState,
    ReadOnlyRow,
    Row,
    file_digest,
    filter_rows,
    insert_turn,
    move_turn,
    next_role,
    parse_filter,
    plain_rows,
    remove_turn,
    rows_from_lines,
    set_content,
    set_role,
    set_system,
    system_offset,
)
from intone.authoring.screens.actions import EditorActions
from intone.authoring.screens.safekeeping import Safekeeping
from intone.authoring.widgets.conversation import ConversationEditor, TurnText
from intone.authoring.widgets.example_list import ExampleList
from intone.authoring.widgets.lint_panel import LintPanel
from intone.authoring.widgets.status_bar import StatusBar
from intone.config import Settings
from intone.schemas.jsonl import read_jsonl_path

FIELDS = Binding.Group("Fields", compact=True)
UNDO_REDO = Binding.Group("Undo/Redo", compact=True)
PROBLEMS = Binding.Group("Problems", compact=True)
"""Pairs of keys that share one label in the footer, so that every key fits in 120 columns."""

PANEL_DEBOUNCE_S = 0.01
FIRST_SCREEN_ROWS = 120
LOAD_BATCH = 2500
JOURNAL_EVERY_S = 0.4
DISK_POLL_S = 1.0


class EditorScreen(EditorActions, Safekeeping, Screen):
    AUTO_FOCUS = "#examples"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+n",
            "new_example",
            "New",
            id="new-example",
            tooltip="New example: an empty user turn and an empty assistant turn",
            priority=True,
        ),
        Binding(
            "tab",
            "app.focus_next",
            "Next field",
            id="next-field",
            tooltip="Move to the next field",
            group=FIELDS,
        ),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Prev field",
            id="previous-field",
            tooltip="Move to the previous field",
            group=FIELDS,
        ),
        Binding(
            "ctrl+d", "duplicate", "Dup", id="duplicate", tooltip="Duplicate this example", priority=True
        ),
        Binding(
            "ctrl+delete",
            "delete",
            "Del",
            id="delete",
            tooltip="Delete this example (undoable)",
            priority=True,
        ),
        Binding("ctrl+s", "save", "Save", id="save", tooltip="Save the file (atomically)", priority=True),
        Binding(
            "ctrl+z",
            "undo",
            "Undo",
            id="undo",
            tooltip="Undo the last change",
            priority=True,
            group=UNDO_REDO,
        ),
        Binding(
            "ctrl+y",
            "redo",
            "Redo",
            id="redo",
            tooltip="Redo the change just undone",
            priority=True,
            group=UNDO_REDO,
        ),
        Binding(
            "ctrl+f",
            "filter",
            "Filter",
            id="filter",
            tooltip="Filter examples by text, tag:NAME or problems",
            priority=True,
        ),
        Binding(
            "f8",
            "next_problem",
            "Next ⚠",
            id="next-problem",
            tooltip="Go to the next example with a problem",
            group=PROBLEMS,
        ),
        Binding(
            "shift+f8",
            "previous_problem",
            "Prev ⚠",
            id="previous-problem",
            tooltip="Go to the previous example with a problem",
            group=PROBLEMS,
        ),
        Binding("f1", "help", "Help", id="help", tooltip="Show every key"),
    ]

    class Linted(Message):
        def __init__(self, result: FullLint) -> None:
            super().__init__()
            self.result = result

    class NearBuilt(Message):
        def __init__(self, index: Any, indexed: dict[int, int]) -> None:
            super().__init__()
            self.index = index
            self.indexed = indexed

    class SchemaReady(Message):
        """pydantic is imported: record rules can run without stalling the UI."""

    class Loaded(Message):
        def __init__(self, rows: list, done: bool, digest: str | None = None) -> None:
            super().__init__()
            self.rows = rows
            self.done = done
            self.digest = digest

    def __init__(self, path: Path, settings: Settings) -> None:
        super().__init__()
        self.path = path
        self.settings = settings
        self.dataset = Dataset(path)
        self.dataset.disk = DiskState.of(path)
        self._lines = read_jsonl_path(path, validate=False) if path.exists() else None
        """The file's lines: the first screenful is read at once, the rest in a worker."""
        self._rest: Iterator[Row] | None = None
        self.reading = self._lines is not None
        self.live = LiveLint(settings, str(path))
        self.current: int | None = None
        self._shown_row: Row | None = None
        self.first_paint_at: float | None = None
        self.schema_ready = False
        """Set once pydantic is loaded (just after the first paint)."""
        self.first_paint_cpu: float | None = None
        self.filtered: list[int] | None = None
        self.note = ""
        self._panel_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._journal_due = False
        self._journal_seq = 0
        self._journal_lock = threading.Lock()
        self._saving = False
        self._asking = False
        self._quit_after_save = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter: words, tag:NAME", id="filter")
                yield Checkbox("has problems", id="problems-only", compact=True)
                yield ExampleList(self.live.worst, id="examples")
            yield ConversationEditor(id="editor")
            yield LintPanel(id="panel")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    @property
    def busy(self) -> bool:
        """Background work still running: reading, whole-file lint, near-duplicate index, saving."""
        near_pending = self.live.has_similarity and self.live.near_index is None and bool(self.dataset.rows)
        return (
            self.reading
            or self._saving
            or not self.live.ready
            or near_pending
            or any(not w.is_finished for w in self.app.workers)
        )

    @property
    def examples(self) -> ExampleList:
        return self.query_one(ExampleList)

    @property
    def editor(self) -> ConversationEditor:
        return self.query_one(ConversationEditor)

    @property
    def panel(self) -> LintPanel:
        return self.query_one(LintPanel)

    def on_mount(self) -> None:
        self.query_one("#problems-only").can_focus = False
        if self._lines is not None:
            # The first screenful without pydantic (about 200 ms to import); the worker validates
            # the rest, starting at the first line that is not plainly valid.
            rows, stopped_at = plain_rows(self._lines, FIRST_SCREEN_ROWS)
            self.dataset.rows.extend(rows)
            self._rest = rows_from_lines(itertools.chain([stopped_at] if stopped_at else [], self._lines))
            self.current = 0 if self.dataset.rows else None
            self.note = "loading…"
            self._reset_views(lint=False)
        else:
            self._reset_views(lint=False)
            self._loaded()
        self.set_interval(JOURNAL_EVERY_S, self._flush_journal)
        self.set_interval(DISK_POLL_S, self._check_disk)
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.first_paint_at = time.perf_counter()  # read by bench/author_speed.py
        self.first_paint_cpu = time.process_time()
        self._load_schema()
        if self._rest is not None:  # after the first paint, so the reader does not slow it down
            self._load_rest(self._rest)

    @work(thread=True, exclusive=True, group="load")
    def _load_rest(self, rest) -> None:
        worker = get_current_worker()
        batch = []
        for row in rest:
            if worker.is_cancelled:  # quitting: the thread must not keep the process alive
                return
            batch.append(row)
            if len(batch) >= LOAD_BATCH:
                self.post_message(self.Loaded(batch, False))
                batch = []
        self.post_message(self.Loaded(batch, True, file_digest(self.path)))

    @work(thread=True, exclusive=True, group="schema")
    def _load_schema(self) -> None:
        import intone.schemas.record  # noqa: F401 - about 200 ms, kept off the first screen

        self.post_message(self.SchemaReady())

    @on(SchemaReady)
    def _schema_ready(self) -> None:
        self.schema_ready = True
        self.update_panel()

    @on(Loaded)
    def _more_rows(self, event: Loaded) -> None:
        start = len(self.dataset.rows)
        self.dataset.rows.extend(event.rows)
        for index, row in enumerate(event.rows, start):
            if row.broken:
                self.live.update_row(row, index)
        if self.current is None and self.dataset.rows:
            self.current = 0
        self._apply_filter()
        if event.done:
            self.dataset.base_digest = event.digest
            self.reading = False
            self._rest = self._lines = None
            self.note = ""
            self.select(self.current)
            self._loaded()
        else:
            self.update_status()

    def _loaded(self) -> None:
        """The whole file is in: lint it, and offer to recover a journal left by a crash."""
        self.lint_all(with_near=True)
        entry = journal.read_journal(self.path)
        if entry is not None:
            self._ask_recover(entry)

    def _reset_views(self, lint: bool = True) -> None:
        """After opening, reloading or recovering: rebuild every view and re-lint in the background."""
        self.live = LiveLint(self.settings, str(self.path), linter=self.live.linter)
        self.examples.worst = self.live.worst
        for index, row in enumerate(self.dataset.rows):  # record rules now; dataset rules in the worker
            if row.broken:
                self.live.update_row(row, index)
        self.current = min(self.current or 0, len(self.dataset.rows) - 1) if self.dataset.rows else None
        self._apply_filter()
        self.select(self.current)
        if lint:
            self.lint_all(with_near=True)

    # ------------------------------------------------------------------ showing

    def select(self, index: int | None, *, focus_editor: bool = False) -> None:
        self.dataset.undo.seal()
        rows = self.dataset.rows
        if self._shown_row is not None:
            self._shown_row.release()  # an unchanged row keeps only its bytes
        self.current = index if index is not None and 0 <= index < len(rows) else None
        row = rows[self.current] if self.current is not None else None
        if row is not None and not row.too_long:
            row.materialize()  # one dict while it is shown and edited
        self._shown_row = row
        if self.current is not None:
            self.examples.show_index(self.current)
        self.editor.show(row, self.current or 0, len(rows))
        self.update_panel()
        self.update_status()
        if focus_editor:
            self.editor.call_after_refresh(self.editor.focus_turn)

    def update_panel(self) -> None:
        rows = self.dataset.rows
        row = rows[self.current] if self.current is not None else None
        answer = None
        if (
            row is not None
            and not row.readonly  # a too-long line is checked by the whole-file lint, off this thread
            and self.schema_ready
            and not self.live.ready
            and row.uid not in self.live.record_diags
        ):
            self.live.update_row(row, self.current)  # just opened: its own rules, before the whole file's
            self.update_status()
        focused = self.editor.current_message()
        if row is not None and focused is not None and not row.readonly:
            roles = [m.get("role") for m in row.messages]
            if focused < len(roles) and roles[focused] == "assistant":
                answer = roles[:focused].count("assistant")
        view = self.live.panel(
            row if row is not None and not row.readonly else None, self.current or 0, rows, answer
        )
        if row is not None and row.readonly:
            view.diagnostics = self.live.diagnostics_for(row, self.current or 0, rows)
            view.checked = self.live.ready or row.uid in self.live.record_diags
        labels = []
        for uid, similarity in view.near:
            other = self.live.rows_by_uid.get(uid)
            if other is not None:
                labels.append((uid, rows.index(other) + 1, similarity))
        self.panel.show(view, labels)

    def _schedule_panel(self) -> None:
        if self._panel_timer is not None:
            self._panel_timer.stop()
        self._panel_timer = self.set_timer(PANEL_DEBOUNCE_S, self.update_panel)

    def update_status(self) -> None:
        errors, warnings = self.live.counts()
        self.query_one(StatusBar).set_state(
            self.path.name,
            new_file=not self.path.exists(),
            dirty=self.dataset.dirty,
            errors=errors,
            warnings=warnings,
            note=self.note,
        )

    def _after_edit(self, index: int, *, structural: bool = False, reshow: bool = False) -> None:
        rows = self.dataset.rows
        if 0 <= index < len(rows):
            self.live.update_row(rows[index], index)
        self._journal_due = True
        self.note = ""
        if structural:
            self._apply_filter()
        else:
            self.examples.refresh_index(index)
        if reshow or structural:
            self.select(self.current)
        else:
            self._schedule_panel()
            self.update_status()

    # ------------------------------------------------------------------ intents from widgets

    @on(ExampleList.Picked)
    def _picked(self, event: ExampleList.Picked) -> None:
        self.select(event.index, focus_editor=event.focus_editor)

    @on(ConversationEditor.Edited)
    def _edited(self, event: ConversationEditor.Edited) -> None:
        row = self._editable_row()
        if row is None or event.message_index >= len(row.messages):
            return
        if row.messages[event.message_index].get("content") == event.text:
            return  # the editor was just loaded from the model
        self.dataset.replace(
            self.current,
            set_content(row.data, event.message_index, event.text),
            coalesce=(row.uid, event.message_index),
            label="typing",
        )
        self._after_edit(self.current)

    @on(ConversationEditor.RoleChanged)
    def _role(self, event: ConversationEditor.RoleChanged) -> None:
        row = self._editable_row()
        if row is not None:
            self.dataset.replace(
                self.current, set_role(row.data, event.message_index, event.role), label="change role"
            )
            self._after_edit(self.current, reshow=True)

    @on(ConversationEditor.TurnAction)
    def _turn_action(self, event: ConversationEditor.TurnAction) -> None:
        row = self._editable_row()
        if row is None:
            return
        data, i, focus = row.data, event.message_index, None
        if event.action == "add":
            data = insert_turn(data, len(row.messages), next_role(data))
            focus = len(row.messages)
        elif event.action == "remove" and i is not None:
            data = remove_turn(data, i)
        elif event.action in ("up", "down") and i is not None:
            target = i + (-1 if event.action == "up" else 1)
            if target < system_offset(data) or target >= len(row.messages):
                return
            data = move_turn(data, i, target - i)
            focus = target
        elif event.action == "add-system":
            data, focus = set_system(data, ""), 0
        elif event.action == "remove-system":
            data = set_system(data, None)
        if data is row.data:
            return
        self.dataset.replace(self.current, data, label=event.action.replace("-", " "))
        self._after_edit(self.current, reshow=True)
        if focus is not None:
            self.editor.call_after_refresh(self.editor.focus_turn, focus)

    @on(LintPanel.Jump)
    def _jump(self, event: LintPanel.Jump) -> None:
        row = self.live.rows_by_uid.get(event.uid)
        if row is None or row not in self.dataset.rows:
            return
        index = self.dataset.rows.index(row)
        if self.filtered is not None and index not in self.filtered:
            self._clear_filter()
        self.select(index)

    @on(Input.Changed, "#filter")
    def _filter_typed(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(0.15, self._apply_filter)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._apply_filter()
        self.examples.focus()

    @on(Checkbox.Changed, "#problems-only")
    def _problems_toggled(self) -> None:
        self._apply_filter()

    def _apply_filter(self) -> None:
        text, tag = parse_filter(self.query_one("#filter", Input).value)
        problems = self.query_one("#problems-only", Checkbox).value
        rows = self.dataset.rows
        if text or tag or problems:
            worst = lambda r: "error" if r.broken else self.live.worst(r)
            self.filtered = filter_rows(rows, text, tag, problems, worst)
        else:
            self.filtered = None
        self.examples.set_rows(rows, self.filtered, self.current)

    def _clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#problems-only", Checkbox).value = False
        self.filtered = None
        self.examples.set_rows(self.dataset.rows, None, self.current)

    def _editable_row(self):
        if self.current is None:
            return None
        row = self.dataset.rows[self.current]
        if row.readonly:
            self.notify(str(ReadOnlyRow(row)), severity="warning", markup=False)
            return None
        return row

    # ------------------------------------------------------------------ background lint

    def lint_all(self, *, with_near: bool) -> None:
        self._lint_worker(list(self.dataset.rows), with_near)

    @work(thread=True, exclusive=True, group="lint")
    def _lint_worker(self, rows: list, with_near: bool) -> None:
        worker = get_current_worker()
        cancelled = lambda: worker.is_cancelled  # checked between records
        try:
            result = self.live.full_lint(rows, with_near=False, cancelled=cancelled)
            if cancelled():
                return
            self.post_message(self.Linted(result))
            if with_near:
                index, indexed = self.live.build_near(rows, result.versions, cancelled)
                if index is not None and not cancelled():
                    self.post_message(self.NearBuilt(index, indexed))
        except Cancelled:
            return

    @on(Linted)
    def _linted(self, event: Linted) -> None:
        self.live.adopt(event.result, self.dataset.rows)
        self.examples.refresh()
        if self.query_one("#problems-only", Checkbox).value:
            self._apply_filter()
        self.update_panel()
        self.update_status()

    @on(NearBuilt)
    def _near_built(self, event: NearBuilt) -> None:
        self.live.adopt_near(event.index, event.indexed, self.dataset.rows)
        self.update_panel()

    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, TurnText):
            self._schedule_panel()
