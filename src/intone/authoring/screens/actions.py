"""The editor's key actions (new, duplicate, delete, undo/redo, filter, problems, help).

A mixin of EditorScreen, kept apart so the screen module stays readable.
"""

from __future__ import annotations

from textual.widgets import Input

from intone.authoring.model import empty_record
from intone.authoring.screens.dialogs import Help


class EditorActions:
    # ------------------------------------------------------------------ actions

    def action_new_example(self) -> None:
        index = len(self.dataset.rows) if self.current is None else self.current + 1
        self.dataset.insert(index, empty_record())
        self.current = index
        if self.filtered is not None:
            self._clear_filter()
        self._after_edit(index, structural=True)
        self.editor.call_after_refresh(self.editor.focus_turn)

    def action_duplicate(self) -> None:
        row = self._editable_row()
        if row is None:
            return
        self.dataset.insert(self.current + 1, dict(row.data), label="duplicate example")
        self.current += 1
        self._after_edit(self.current, structural=True)

    def action_delete(self) -> None:
        row = self._editable_row()
        if row is None:
            return
        self.dataset.delete(self.current)
        self.live.remove_row(row)
        self.current = min(self.current, len(self.dataset.rows) - 1) if self.dataset.rows else None
        self.note = "deleted (ctrl+z brings it back)"
        self._after_edit(-1, structural=True)

    def action_undo(self) -> None:
        self._step(self.dataset.undo.undo, "undo")

    def action_redo(self) -> None:
        self._step(self.dataset.undo.redo, "redo")

    def _step(self, step, word: str) -> None:
        edit = step(self.dataset)
        if edit is None:
            self.note = f"nothing to {word}"
            self.update_status()
            return
        forward = word == "redo"
        removed = (edit.kind == "insert") != forward if edit.kind != "replace" else False
        if edit.kind != "replace" and removed:
            self.live.remove_row(edit.after if edit.kind == "insert" else edit.before)
            self.current = min(edit.index, len(self.dataset.rows) - 1) if self.dataset.rows else None
            self._after_edit(-1, structural=True)
        else:
            self.current = edit.index
            self._after_edit(edit.index, structural=edit.kind != "replace", reshow=True)
        self.note = f"{word}: {edit.label}"
        self.update_status()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_next_problem(self) -> None:
        self._find_problem(+1)

    def action_previous_problem(self) -> None:
        self._find_problem(-1)

    def _find_problem(self, direction: int) -> None:
        rows = self.dataset.rows
        n = len(rows)
        start = self.current if self.current is not None else -direction
        for step in range(1, n + 1):
            index = (start + direction * step) % n
            row = rows[index]
            if row.broken or self.live.worst(row) in ("error", "warning"):
                if self.filtered is not None and index not in self.filtered:
                    self._clear_filter()
                self.select(index)
                return
        self.note = "no problems found"
        self.update_status()

    def action_help(self) -> None:
        rows = []
        for binding in self.app.active_bindings.values():
            b = binding.binding
            if b.id and b.description:
                rows.append((self.app.get_key_display(b), b.id, b.tooltip or b.description))
        order = [b.id for b in self.BINDINGS] + ["quit", "command-palette"]
        rows = sorted(set(rows), key=lambda r: order.index(r[1]) if r[1] in order else len(order))
        self.app.push_screen(Help(rows))
