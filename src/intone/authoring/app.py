"""`intone author`: the Textual app. Kept small: screens and widgets do the work."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from intone.authoring.lock import EditLock
from intone.authoring.palette import IntoneCommands
from intone.authoring.paths import check_editable
from intone.authoring.screens.editor import EditorScreen
from intone.authoring.threads import DaemonExecutor
from intone.config import Settings
from intone.errors import ConfigError

if TYPE_CHECKING:
    from intone.authoring.review import Review


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
        Binding(
            "f2",
            "show_review",
            "Review",
            id="show-review",
            tooltip="Back to the probe's replies (with --review)",
            show=False,  # the editor's footer is full; the help and the adopt note name it
        ),
    ]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, path: Path, settings: Settings, review: Review | None = None) -> None:
        super().__init__()
        self.path = path
        self.settings = settings
        self.review = review
        """The probe review of `--review DIR`, or None; its screen is installed as "review"."""
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
        if self.review is not None:
            from intone.authoring.screens.review import ReviewScreen  # pydantic: only with --review

            self.install_screen(ReviewScreen(self.review), "review")
            self.push_screen("review")

    def on_unmount(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @property
    def editor_screen(self) -> EditorScreen:
        return next(s for s in self.screen_stack if isinstance(s, EditorScreen))

    def _reviewing(self) -> bool:
        return self.review is not None and self.screen is self.get_screen("review")

    def action_request_quit(self) -> None:
        if isinstance(self.screen, EditorScreen) or self._reviewing():
            self.editor_screen.request_quit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_review":  # hidden (footer, help) without --review and on the review itself
            return isinstance(self.screen, EditorScreen) and self.review is not None
        return True

    def action_show_review(self) -> None:
        if self.check_action("show_review", ()):
            self.push_screen("review")


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


def make_app(
    path: str | Path, settings: Settings | None = None, review: str | Path | Review | None = None
) -> IntoneApp:
    """The one factory, shared by the CLI and the tests. Raises UsageError for a path that
    cannot be edited (a FIFO, a folder, unreadable), for a `review` folder without probe.jsonl,
    and FileInUse when another app has it open. The app opens on the review when one is given."""
    check_editable(Path(path))
    if isinstance(review, (str, Path)):
        from intone.authoring.review import Review

        review = Review.open(review)
    return IntoneApp(Path(path), settings or Settings(), review)
