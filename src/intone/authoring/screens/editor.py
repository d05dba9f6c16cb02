"""The main screen: example list, conversation editor, lint panel, status bar.

Widgets post intents (Picked, Edited, TurnAction, Jump); this screen hands them to its
`EditorState` (editor_state.py, no textual), which edits the dataset (undoable) and lints the one
edited record, and then refreshes the views as the returned `Change` says. The screen keeps the
widgets, keys, timers and workers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from intone.authoring.editor_state import Change, EditorState
from intone.authoring.live import Cancelled, FullLint, LiveLint
from intone.authoring.model import Dataset, ReadOnlyRow, file_digest
from intone.authoring.screens.actions import EditorActions
from intone.authoring.screens.safekeeping import Safekeeping
from intone.authoring.widgets.conversation import ConversationEditor, TurnText
from intone.authoring.widgets.example_list import ExampleList
from intone.authoring.widgets.lint_panel import LintPanel
from intone.authoring.widgets.status_bar import StatusBar
from intone.config import Settings

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
        self.state = EditorState(path, settings)
        """Everything but the widgets: the dataset, the open row, the filter, saving, the journal."""
        self.first_paint_at: float | None = None
        self.first_paint_cpu: float | None = None
        self._panel_timer: Timer | None = None
        self._filter_timer: Timer | None = None

    @property
    def dataset(self) -> Dataset:
        return self.state.dataset

    @property
    def live(self) -> LiveLint:
        return self.state.live

    @property
    def current(self) -> int | None:
        return self.state.current

    @property
    def filtered(self) -> list[int] | None:
        return self.state.filtered

    @property
    def reading(self) -> bool:
        return self.state.reading

    @property
    def schema_ready(self) -> bool:
        return self.state.schema_ready

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
        return self.state.busy or any(not w.is_finished for w in self.app.workers)

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
        if self.state.lines is not None:
            self.state.read_first_screen(FIRST_SCREEN_ROWS)
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
        if self.state.rest is not None:  # after the first paint, so the reader does not slow it down
            self._load_rest(self.state.rest)

    @work(thread=True, exclusive=True, group="load")
    def _load_rest(self, rest: Iterator) -> None:
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
        self.state.schema_ready = True
        self.update_panel()

    @on(Loaded)
    def _more_rows(self, event: Loaded) -> None:
        self.state.add_loaded(event.rows, event.done, event.digest)
        self._apply_filter()
        if event.done:
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
        self.state.reset_live()
        self.examples.worst = self.live.worst
        self._apply_filter()
        self.select(self.current)
        if lint:
            self.lint_all(with_near=True)

    # ------------------------------------------------------------------ showing

    def select(self, index: int | None, *, focus_editor: bool = False) -> None:
        row = self.state.select(index)
        if self.current is not None:
            self.examples.show_index(self.current)
        self.editor.show(row, self.current or 0, len(self.dataset.rows))
        self.update_panel()
        self.update_status()
        if focus_editor:
            self.editor.call_after_refresh(self.editor.focus_turn)

    def update_panel(self) -> None:
        if self.state.lint_opened():  # just opened: its own rules, before the whole file's
            self.update_status()
        self.panel.show(*self.state.panel_view(self.editor.current_message()))

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
            note=self.state.note,
        )

    def _show_change(self, change: Change | None) -> None:
        """Bring the views up to date after an edit (nothing to do for None)."""
        if change is None:
            return
        if change.clear_filter:
            self._clear_filter()
        if change.structural:
            self._apply_filter()
        else:
            self.examples.refresh_index(change.index)
        if change.reshow or change.structural:
            self.select(self.current)
        else:
            self._schedule_panel()
            self.update_status()
        if change.focus:
            self.editor.call_after_refresh(self.editor.focus_turn, change.turn)

    @contextmanager
    def _editing(self) -> Iterator[None]:
        """An edit of a row that cannot be edited is refused with a warning."""
        try:
            yield
        except ReadOnlyRow as exc:
            self.notify(str(exc), severity="warning", markup=False)

    def add_example(self, record: dict, label: str, *, note: str = "") -> None:
        """Add `record` at the end (one undoable edit named `label`, unsaved) and show it with its
        answer focused, clearing a filter that would hide it; `note` goes in the status bar."""
        self._show_change(self.state.add_example(record, label, note))

    # ------------------------------------------------------------------ intents from widgets

    @on(ExampleList.Picked)
    def _picked(self, event: ExampleList.Picked) -> None:
        self.select(event.index, focus_editor=event.focus_editor)

    @on(ConversationEditor.Edited)
    def _edited(self, event: ConversationEditor.Edited) -> None:
        with self._editing():
            self._show_change(self.state.type_text(event.message_index, event.text))

    @on(ConversationEditor.RoleChanged)
    def _role(self, event: ConversationEditor.RoleChanged) -> None:
        with self._editing():
            self._show_change(self.state.change_role(event.message_index, event.role))

    @on(ConversationEditor.TurnAction)
    def _turn_action(self, event: ConversationEditor.TurnAction) -> None:
        with self._editing():
            self._show_change(self.state.turn_action(event.action, event.message_index))

    @on(LintPanel.Jump)
    def _jump(self, event: LintPanel.Jump) -> None:
        index = self.state.index_of_uid(event.uid)
        if index is not None:
            self._go_to(index)

    def _go_to(self, index: int) -> None:
        if self.state.hidden(index):
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
        query = self.query_one("#filter", Input).value
        filtered = self.state.apply_filter(query, self.query_one("#problems-only", Checkbox).value)
        self.examples.set_rows(self.dataset.rows, filtered, self.current)

    def _clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#problems-only", Checkbox).value = False
        self.state.clear_filter()
        self.examples.set_rows(self.dataset.rows, None, self.current)

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
