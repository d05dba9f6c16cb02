"""The status bar: file, saved or unsaved, error and warning counts, and the last message."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from intone.authoring.widgets.plain import plain, same

SEPARATOR = "  │  "


def status_text(
    name: str, *, new_file: bool, dirty: bool, errors: int, warnings: int, note: str = ""
) -> Content:
    state = Content.styled("● unsaved", "yellow") if dirty else Content.styled("saved", "green")
    if new_file and not dirty:
        state = Content.styled("new file", "dim")
    counts = Content.assemble(
        (f"{errors} error{'s' if errors != 1 else ''}", "red"),
        "  ",
        (f"{warnings} warning{'s' if warnings != 1 else ''}", "yellow"),
    )
    parts = [plain(name, "bold", 200, one_line=True), state, counts]
    if note:
        parts.append(plain(note, limit=300, one_line=True))
    return Content(SEPARATOR).join(parts)


class StatusBar(Static):
    def set_state(
        self, name: str, *, new_file: bool, dirty: bool, errors: int, warnings: int, note: str = ""
    ) -> None:
        text = status_text(name, new_file=new_file, dirty=dirty, errors=errors, warnings=warnings, note=note)
        if not same(getattr(self, "_text", None), text):
            self._text = text
            self.update(text)
