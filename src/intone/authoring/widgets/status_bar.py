"""The status bar: file, saved or unsaved, error and warning counts, and the last message."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class StatusBar(Static):
    def set_state(
        self, name: str, *, new_file: bool, dirty: bool, errors: int, warnings: int, note: str = ""
    ) -> None:
        state = "[yellow]● unsaved[/]" if dirty else "[green]saved[/]"
        if new_file and not dirty:
            state = "[dim]new file[/]"
        counts = f"[red]{errors} error{'s' if errors != 1 else ''}[/]  [yellow]{warnings} warning{'s' if warnings != 1 else ''}[/]"
        parts = [f"[b]{escape(name)}[/]", state, counts]
        if note:
            parts.append(escape(note))
        text = "  │  ".join(parts)
        if text != getattr(self, "_text", None):
            self._text = text
            self.update(text)
