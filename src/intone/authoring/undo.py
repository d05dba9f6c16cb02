"""A linear undo/redo stack with typing coalesced into one step per field. No textual here."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol


class Target(Protocol):
    def apply_edit(self, edit: Edit, forward: bool) -> None: ...


_tokens = itertools.count(1)


@dataclass
class Edit:
    """One undoable change. `kind` says what changed; `before`/`after` hold the two states."""

    kind: str
    """"replace" (a record's data), "insert" or "delete" (a whole row)."""
    index: int
    before: Any
    after: Any
    coalesce: tuple[Any, ...] | None = None
    """Edits with the same key, pushed one after another, merge into one undo step."""
    label: str = ""
    token: int = field(default_factory=lambda: next(_tokens))


class UndoStack:
    """Edits in order; `position` is how many of them are applied."""

    def __init__(self, limit: int = 1000) -> None:
        self.edits: list[Edit] = []
        self.position = 0
        self.limit = limit
        self._sealed = True

    @property
    def token(self) -> int:
        """Identifies the current state: equal tokens mean the same content (dirty tracking)."""
        return self.edits[self.position - 1].token if self.position else 0

    def push(self, edit: Edit) -> None:
        del self.edits[self.position :]
        top = self.edits[-1] if self.edits else None
        if (
            not self._sealed
            and top is not None
            and edit.coalesce is not None
            and top.coalesce == edit.coalesce
            and top.kind == edit.kind == "replace"
        ):
            top.after = edit.after
            top.token = next(_tokens)
        else:
            self.edits.append(edit)
            if len(self.edits) > self.limit:
                del self.edits[0]
        self.position = len(self.edits)
        self._sealed = edit.coalesce is None

    def seal(self) -> None:
        """End the current typing run: the next edit starts a new undo step."""
        self._sealed = True

    def can_undo(self) -> bool:
        return self.position > 0

    def can_redo(self) -> bool:
        return self.position < len(self.edits)

    def undo(self, target: Target) -> Edit | None:
        if not self.position:
            return None
        self.position -= 1
        edit = self.edits[self.position]
        target.apply_edit(edit, forward=False)
        self._sealed = True
        return edit

    def redo(self, target: Target) -> Edit | None:
        if self.position >= len(self.edits):
            return None
        edit = self.edits[self.position]
        self.position += 1
        target.apply_edit(edit, forward=True)
        self._sealed = True
        return edit

    def clear(self) -> None:
        self.edits.clear()
        self.position = 0
        self._sealed = True
