"""Modal questions (quit, recover, outside change) and the help screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from intone.authoring.widgets.plain import lines, plain


class Choice(ModalScreen[str]):
    """Ask a question; dismisses with the chosen button's key (escape picks the last)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, body: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.title_text, "bold"), classes="dialog-title")
            yield Static(plain(self.body), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for i, (key, label) in enumerate(self.choices):
                    yield Button(
                        Content(label), id=f"choice-{key}", variant="primary" if i == 0 else "default"
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(self.choices[-1][0])


class Help(ModalScreen[None]):
    """Every key, from the live bindings (so a remapped key shows its new key)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close", show=False)]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(help_text(self.rows))

    def action_close(self) -> None:
        self.dismiss(None)


def show_help(screen, bindings) -> None:
    """Push the help dialog for `screen`: each of `bindings` (its active bindings) that has an id
    and a description, in the order of the screen's BINDINGS, then quit and the palette."""
    app = screen.app
    rows = []
    for binding in bindings.values():
        b = binding.binding
        if b.id and b.description:
            rows.append((app.get_key_display(b), b.id, b.tooltip or b.description))
    order = [b.id for b in screen.BINDINGS] + ["quit", "command-palette"]
    rows = sorted(set(rows), key=lambda r: order.index(r[1]) if r[1] in order else len(order))
    app.push_screen(Help(rows))


def help_text(rows: list[tuple[str, str, str]]) -> Content:
    """The keys table; keys come from the user's keymap, so nothing here is read as markup."""
    width = max((len(k) for k, _d, _t in rows), default=4)
    parts = [Content.styled("intone author: keys", "bold"), Content()]
    for key, description, tooltip in rows:
        parts.append(
            Content.assemble(
                plain(f"{key:<{width}}", "bold cyan"),
                "  ",
                plain(f"{description:<18}"),
                " ",
                plain(tooltip, "dim"),
            )
        )
    parts += [
        Content(),
        Content("Each example is one line of the JSONL file. Edits are journaled beside the file"),
        Content("within a second and offered back after a crash. Remap keys under"),
        Content('[tool.intone.author] keymap = {"save" = "ctrl+w"} (binding ids as above).'),
        Content(),
        Content.styled("escape closes this help", "dim"),
    ]
    return lines(parts)
