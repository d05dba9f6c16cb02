"""The editor's key actions (new, duplicate, delete, undo/redo, filter, problems, help).

A mixin of EditorScreen, kept apart so the screen module stays readable. The work is done by the
screen's `EditorState`; these map keys to it and show the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from intone.authoring.screens.dialogs import show_help

if TYPE_CHECKING:
    from intone.authoring.editor_state import EditorState


class EditorActions:
    state: EditorState
    """Set by EditorScreen.__init__."""

    # ------------------------------------------------------------------ actions

    def action_new_example(self) -> None:
        self._show_change(self.state.new_example())

    def action_duplicate(self) -> None:
        with self._editing():
            self._show_change(self.state.duplicate())

    def action_delete(self) -> None:
        with self._editing():
            self._show_change(self.state.delete())

    def action_undo(self) -> None:
        self._step(forward=False)

    def action_redo(self) -> None:
        self._step(forward=True)

    def _step(self, *, forward: bool) -> None:
        self._show_change(self.state.step(forward))
        self.update_status()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_next_problem(self) -> None:
        self._find_problem(+1)

    def action_previous_problem(self) -> None:
        self._find_problem(-1)

    def _find_problem(self, direction: int) -> None:
        index = self.state.find_problem(direction)
        if index is None:
            self.update_status()
        else:
            self._go_to(index)

    def action_help(self) -> None:
        show_help(self, self.app.active_bindings)
