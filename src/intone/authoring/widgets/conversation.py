"""The conversation editor: an optional system message, then each turn as a role + text area.

It never changes the dataset itself: it posts intent messages and the screen acts on them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from intone.authoring.model import Row, system_offset
from intone.authoring.widgets.plain import SHOW_CHARS, plain


class TurnText(TextArea):
    """A turn's text; remembers which message it edits."""

    def __init__(self, text: str, message_index: int, **kwargs: Any) -> None:
        super().__init__(text, soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self.message_index = message_index

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+r",
            "toggle_role",
            "Role",
            id="toggle-role",
            tooltip="Switch this turn between user and assistant",
        )
    ]

    def action_toggle_role(self) -> None:
        turn = next((a for a in self.ancestors if isinstance(a, Turn)), None)
        editor = next((a for a in self.ancestors if isinstance(a, ConversationEditor)), None)
        if turn is None or editor is None or turn.system:
            return
        role = "assistant" if turn.role == "user" else "user"
        editor.post_message(ConversationEditor.RoleChanged(turn.message_index, role))


class Turn(Vertical):
    """One turn: role selector, move/remove buttons, and the text."""

    def __init__(self, message_index: int, role: str, text: str, *, system: bool = False) -> None:
        super().__init__(classes="turn system" if system else f"turn {role}")
        self.message_index = message_index
        self.role = role
        self.text = text
        self.system = system

    def compose(self) -> ComposeResult:
        with Horizontal(classes="turn-head"):
            if self.system:
                yield Static("system", classes="role-label")
            else:
                yield Button(
                    plain(f"{self.role} ▾", limit=40, one_line=True),
                    classes="role",
                    compact=True,
                    tooltip="Change who speaks (user / assistant); ctrl+r in the text does the same",
                )
            yield Static("", classes="spacer")
            if not self.system:
                yield Button("↑", classes="move-up", compact=True, tooltip="Move this turn up")
                yield Button("↓", classes="move-down", compact=True, tooltip="Move this turn down")
            yield Button("✕", classes="remove", compact=True, tooltip="Remove this turn")
        yield TurnText(self.text, self.message_index)

    def on_mount(self) -> None:
        # Tab goes from text to text, so typing a prompt, Tab, then the answer never lands on a
        # button; the role is switched with ctrl+r in the text (or a click on the role button).
        for button in self.query(Button):
            button.can_focus = False


class ConversationEditor(VerticalScroll):
    """Shows one row; posts `Edited` and the structural intents below."""

    class Edited(Message):
        """The text of message `message_index` is now `text`."""

        def __init__(self, message_index: int, text: str) -> None:
            super().__init__()
            self.message_index = message_index
            self.text = text

    class RoleChanged(Message):
        def __init__(self, message_index: int, role: str) -> None:
            super().__init__()
            self.message_index = message_index
            self.role = role

    class TurnAction(Message):
        """`action` is "add", "remove", "up", "down", "add-system" or "remove-system"."""

        def __init__(self, action: str, message_index: int | None = None) -> None:
            super().__init__()
            self.action = action
            self.message_index = message_index

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape: tuple[str, ...] | None = None
        self.row: Row | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="example-title")
        yield Vertical(id="turns")
        with Horizontal(id="turn-buttons"):
            yield Button("+ turn", id="add-turn", compact=True, tooltip="Add a turn at the end")
            yield Button("+ system message", id="add-system", compact=True, tooltip="Add a system message")

    def on_mount(self) -> None:
        for button in self.query("#turn-buttons Button"):
            button.can_focus = False
        self.show(None, 0, 0)

    # ------------------------------------------------------------------ showing a row

    def show(self, row: Row | None, index: int, total: int) -> None:
        """Display `row`; reuses the widgets when only the text changed (undo, switching)."""
        self.row = row
        title = self.query_one("#example-title", Static)
        buttons = self.query_one("#turn-buttons")
        turns = self.query_one("#turns", Vertical)
        if row is None:
            title.update(
                Content("No examples yet. Press ctrl+n to add one." if not total else "No example selected.")
            )
            buttons.display = False
            self._rebuild(turns, None, [])
            return
        title.update(self._title(row, index, total))
        if row.readonly:
            buttons.display = False
            self._rebuild(turns, ("broken",), [])
            turns.mount(Static(self._broken_text(row), classes="broken"))
            self.shape = ("broken", row.uid)
            return
        buttons.display = True
        messages = row.messages
        offset = system_offset(row.data)
        self.query_one("#add-system").display = offset == 0
        shape = tuple(m.get("role", "") for m in messages)
        if shape == self.shape:
            for area in turns.query(TurnText):
                text = messages[area.message_index].get("content", "")
                if area.text != text:
                    area.load_text(text)
            return
        self._rebuild(turns, shape, messages)

    def _rebuild(self, turns: Vertical, shape: tuple[str, ...] | None, messages: list[dict]) -> None:
        self.shape = shape
        turns.remove_children()
        if messages:
            offset = 1 if messages[0].get("role") == "system" else 0
            widgets = [
                Turn(i, m.get("role", "user"), m.get("content", ""), system=(i == 0 and offset == 1))
                for i, m in enumerate(messages)
            ]
            turns.mount_all(widgets)

    @staticmethod
    def _title(row: Row, index: int, total: int) -> Content:
        meta = []
        data = None if row.too_long else row.data  # not parsed on this thread when huge
        if isinstance(data, dict) and data.get("id") is not None:
            meta.append(f"id {data['id']}")
        tags = row.tags() if data is not None else []
        if tags:
            meta.append("tags " + ", ".join(tags))
        title = f"Example {index + 1} of {total}" + (f"  ·  {'  ·  '.join(meta)}" if meta else "")
        return plain(title, limit=300, one_line=True)

    @staticmethod
    def _broken_text(row: Row) -> Content:
        data = row.clean_bytes or b""
        raw = data[: 4 * SHOW_CHARS].decode("utf-8", "replace").rstrip("\r\n")
        if row.broken:
            why = f"Line {row.source_line} cannot be read; it is kept verbatim and is read-only.\n\n"
        else:
            why = (
                f"Line {row.source_line} is {len(data):,} bytes, too long to edit here; it is kept as it "
                "is and checked with the whole file, and is read-only.\n\n"
            )
        parts: list[str | Content | tuple[str, str]] = [(why, "bold ansi_red")]
        for problem in row.problems:
            parts += [plain(problem.name, "ansi_red"), ": ", plain(problem.message), "\n"]
        parts += ["\n", plain(raw[:SHOW_CHARS], "dim")]
        if len(raw) > SHOW_CHARS or len(data) > 4 * SHOW_CHARS:
            parts.append((f"… (the line is {len(data):,} bytes)", "dim"))
        parts.append(
            "\n\nFix it in a text editor, or run `intone lint` for details."
            if row.broken
            else "\n\nEdit it in a text editor."
        )
        return Content.assemble(*parts)

    def focus_turn(self, message_index: int | None = None) -> None:
        areas = list(self.query(TurnText))
        if not areas:
            return
        target = next((a for a in areas if a.message_index == message_index), None)
        if target is None:
            target = next((a for a in areas if not a.text), areas[-1] if message_index == -1 else areas[0])
        target.focus()
        target.move_cursor(target.document.end)

    def current_message(self) -> int | None:
        focused = self.screen.focused
        return focused.message_index if isinstance(focused, TurnText) else None

    # ------------------------------------------------------------------ intents

    @on(TextArea.Changed)
    def _text_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        area = event.text_area
        if isinstance(area, TurnText):
            self.post_message(self.Edited(area.message_index, area.text))

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button
        if button.id == "add-turn":
            self.post_message(self.TurnAction("add"))
            return
        if button.id == "add-system":
            self.post_message(self.TurnAction("add-system"))
            return
        turn = next((a for a in button.ancestors if isinstance(a, Turn)), None)
        if turn is None:
            return
        if button.has_class("role"):
            self.post_message(
                self.RoleChanged(turn.message_index, "assistant" if turn.role == "user" else "user")
            )
        elif button.has_class("remove"):
            self.post_message(
                self.TurnAction("remove-system" if turn.system else "remove", turn.message_index)
            )
        elif button.has_class("move-up"):
            self.post_message(self.TurnAction("up", turn.message_index))
        elif button.has_class("move-down"):
            self.post_message(self.TurnAction("down", turn.message_index))
