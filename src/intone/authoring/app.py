"""`intone author`: the Textual app. Kept small: screens and widgets do the work."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from intone.authoring.lock import EditLock
from intone.authoring.palette import IntoneCommands
from intone.authoring.paths import check_editable
from intone.authoring.screens.editor import EditorScreen
from intone.authoring.threads import DaemonExecutor
from intone.config import Settings
from intone.errors import ConfigError


class IntoneApp(App):
    CSS_PATH = "intone.tcss"
    TITLE = "intone author"
    COMMANDS = App.COMMANDS | {IntoneCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "request_quit",
            "Quit",
            id="quit",
            tooltip="Quit; asks first if there are unsaved changes",
            priority=True,
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "Palette",
            id="command-palette",
            tooltip="Open the command palette",
            priority=True,
            show=False,
        ),
    ]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, path: Path, settings: Settings) -> None:
        super().__init__()
        self.path = path
        self.settings = settings
        self.keymap = keymap_from(settings)
        self.lock = EditLock.acquire(path)
        """Held until the app ends: a second `intone author` of this file is refused (FileInUse)."""

    def get_key_display(self, binding: Binding) -> str:
        """Keys as the footer shows them: ^s for ctrl+s (Textual's), ⇧f8 for shift+f8 (shorter)."""
        return super().get_key_display(binding).replace("shift+", "⇧")

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())  # quitting never waits on a lint
        self.set_keymap(self.keymap)
        self.push_screen(EditorScreen(self.path, self.settings))

    def on_unmount(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @property
    def editor_screen(self) -> EditorScreen:
        return next(s for s in self.screen_stack if isinstance(s, EditorScreen))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, EditorScreen):
            self.screen.request_quit()


def keymap_from(settings: Settings) -> dict[str, str]:
    keymap = settings.author.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(
            '[tool.intone.author] keymap must be a table of binding id = "key", e.g. {save = "ctrl+w"}'
        )
    unknown = set(settings.author) - {"keymap"}
    if unknown:
        raise ConfigError(f"[tool.intone.author]: unknown key {min(unknown)!r}; known keys: keymap")
    return dict(keymap)


def make_app(path: str | Path, settings: Settings | None = None) -> IntoneApp:
    """The one factory, shared by the CLI and the tests. Raises UsageError for a path that
    cannot be edited (a FIFO, a folder, unreadable) and FileInUse when another app has it open."""
    check_editable(Path(path))
    return IntoneApp(Path(path), settings or Settings())
