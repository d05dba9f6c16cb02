"""Pictures of the main screens (pytest-textual-snapshot). Update with `--snapshot-update`.

Deterministic: fixed terminal size, cursor blink off, background workers awaited, and no
timestamps or absolute paths on screen.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TextArea

from intone.authoring.app import make_app

SIZE = (120, 36)


def prepare(*steps):
    async def settle(pilot) -> None:
        while pilot.app.editor_screen.busy:
            await pilot.pause(0.02)
        await pilot.pause()

    async def run_before(pilot) -> None:
        await settle(pilot)
        screen = pilot.app.editor_screen
        for step in steps:
            if isinstance(step, str):
                await pilot.press(step)
            else:
                step(screen)
            await settle(pilot)
        for area in pilot.app.query(TextArea):
            area.cursor_blink = False
        for area in pilot.app.screen.query(TextArea):
            area.cursor_blink = False
        await pilot.pause()

    return run_before


def test_main_screen(snap_compare, sample: Path) -> None:
    assert snap_compare(make_app(sample), terminal_size=SIZE, run_before=prepare())


def test_broken_line_with_problems_filter(snap_compare, sample: Path) -> None:
    def show_broken(screen) -> None:
        screen.query_one("#problems-only").value = True
        screen.select(2)

    assert snap_compare(make_app(sample), terminal_size=SIZE, run_before=prepare(show_broken))


def test_new_file_while_typing(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path / "marlo.jsonl")
    keys = ["ctrl+n", *"Tell me a story", "tab", *"Once upon a tide..."]
    assert snap_compare(app, terminal_size=SIZE, run_before=prepare(*keys))


def test_quit_dialog(snap_compare, sample: Path) -> None:
    assert snap_compare(make_app(sample), terminal_size=SIZE, run_before=prepare("ctrl+d", "ctrl+q"))


def test_help(snap_compare, sample: Path) -> None:
    assert snap_compare(make_app(sample), terminal_size=SIZE, run_before=prepare("f1"))
