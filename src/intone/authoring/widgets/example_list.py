"""The example list: one line per row, drawn on demand so 10,000 rows cost what a screenful costs."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from intone.authoring.model import Row
from intone.authoring.widgets.plain import shown

SUMMARIES = 2000
"""Rows whose list line is kept (a few screens' worth)."""
PROMPT_CHARS = 300
"""More than a list line shows, even at full width (long prompts are cut before wrapping work)."""

BADGES = {
    "error": ("✖", Style(color="red", bold=True)),
    "warning": ("▲", Style(color="yellow")),
    "info": ("●", Style(color="green")),
    None: ("●", Style(color="green")),
}
BROKEN = ("✖", Style(color="red", bold=True))


class ExampleList(ScrollView, can_focus=True):
    """Rows of the dataset filtered to `visible` (indices into `rows`); posts `Picked`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "edge(0)", show=False),
        Binding("end", "edge(1)", show=False),
        Binding("enter", "pick", show=False),
    ]

    class Picked(Message):
        """The person chose the example at dataset index `index`."""

        def __init__(self, index: int, focus_editor: bool = False) -> None:
            super().__init__()
            self.index = index
            self.focus_editor = focus_editor

    def __init__(self, worst: Callable[[Row], str | None], **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[Row] = []
        self.filtered: list[int] | None = None
        """Dataset indices shown, or None for all rows."""
        self.cursor = 0
        """Position in the visible list."""
        self.worst = worst
        self._summaries: dict[tuple[int, int], tuple[int, str]] = {}

    # ------------------------------------------------------------------ data

    def set_rows(self, rows: list[Row], visible: list[int] | None, current: int | None) -> None:
        self.rows = rows
        self.filtered = visible
        self.cursor = self.position_of(current) if current is not None else 0
        self.virtual_size = Size(self.size.width, self.count)
        self.refresh()
        self.scroll_to_cursor()

    @property
    def count(self) -> int:
        return len(self.rows) if self.filtered is None else len(self.filtered)

    def index_at(self, position: int) -> int | None:
        if not 0 <= position < self.count:
            return None
        return position if self.filtered is None else self.filtered[position]

    def position_of(self, index: int) -> int:
        if self.filtered is None:
            return max(0, min(index, len(self.rows) - 1))
        for pos, i in enumerate(self.filtered):
            if i >= index:
                return pos
        return max(0, len(self.filtered) - 1)

    def refresh_index(self, index: int) -> None:
        """Redraw the one line showing dataset row `index` (after an edit to it)."""
        if self.filtered is None:
            self.refresh_line(index)
        else:
            self.refresh()

    def show_index(self, index: int) -> None:
        """Move the cursor to dataset index `index` without posting."""
        self.cursor = self.position_of(index)
        self.refresh()
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        position = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        index = self.index_at(position)
        if index is None:
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        base = self.rich_style
        if position == self.cursor:
            base = (
                base + Style(reverse=True)
                if not self.has_focus
                else base + Style(bgcolor="#0178d4", color="white")
            )
        digits = max(3, len(str(len(self.rows))))
        segments = [Segment(f"{index + 1:>{digits}} ", base + Style(dim=True))]
        if row.broken:
            badge, style = BROKEN
            problem = shown(row.problems[0].name, 80, one_line=True) if row.problems else "broken"
            segments += [
                Segment(badge, base + style),
                Segment(" broken ", base + Style(dim=True)),
                Segment(problem, base + Style(italic=True)),
            ]
        elif row.too_long:
            badge, style = BADGES.get(self.worst(row), BADGES[None])
            size = f" {len(row.clean_bytes or b''):,} bytes: too long to edit here"
            segments += [Segment(badge, base + style), Segment(size, base + Style(dim=True))]
        else:
            badge, style = BADGES.get(self.worst(row), BADGES[None])
            words, prompt = self._summary(row)
            segments += [
                Segment(badge, base + style),
                Segment(f" {words:>4}w ", base + Style(dim=True)),
                Segment(prompt or "(empty prompt)", base),
            ]
        strip = Strip(segments).crop(0, width).extend_cell_length(width, base)
        return strip

    def _summary(self, row: Row) -> tuple[int, str]:
        """Answer words and the prompt as one line, kept for the rows drawn lately (a row keeps only
        its bytes, and a redraw should not parse every visible row again)."""
        key = (row.uid, row.version)
        summary = self._summaries.get(key)
        if summary is None:
            prompt = row.prompt()
            summary = (
                row.answer_words(),
                shown(" ".join(prompt[:PROMPT_CHARS].split()), PROMPT_CHARS, one_line=True),
            )
            if len(self._summaries) >= SUMMARIES:
                del self._summaries[next(iter(self._summaries))]
            self._summaries[key] = summary
        return summary

    # ------------------------------------------------------------------ input

    def _go(self, position: int, post: bool = True) -> None:
        if not self.count:
            return
        self.cursor = max(0, min(position, self.count - 1))
        self.refresh()
        self.scroll_to_cursor()
        index = self.index_at(self.cursor)
        if post and index is not None:
            self.post_message(self.Picked(index))

    def action_move(self, delta: int) -> None:
        self._go(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._go(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_edge(self, end: int) -> None:
        self._go(self.count - 1 if end else 0)

    def action_pick(self) -> None:
        index = self.index_at(self.cursor)
        if index is not None:
            self.post_message(self.Picked(index, focus_editor=True))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self._go(int(self.scroll_y) + offset.y)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.count)
