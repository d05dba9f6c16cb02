"""Behaviour through Pilot: keys and clicks in, state and the file on disk out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.authoring import journal
from intone.authoring.app import make_app
from intone.authoring.screens.dialogs import Choice, Help
from intone.authoring.screens.editor import EditorScreen
from intone.authoring.widgets.conversation import TurnText
from intone.config import Settings

pytestmark = pytest.mark.asyncio
SIZE = (120, 36)


async def settle(pilot) -> None:
    """Wait for the background work (reading, linting, indexing, saving) to finish."""
    while pilot.app.editor_screen.busy:
        await pilot.pause(0.02)
    await pilot.pause()


def screen_of(app) -> EditorScreen:
    return app.editor_screen


async def test_create_type_save_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 0
        await pilot.press(*"Hi there")
        await pilot.press("tab")
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 1
        await pilot.press(*"Ahoy!")
        await pilot.pause()
        assert screen_of(app).dataset.dirty
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not screen_of(app).dataset.dirty
    expected = {
        "messages": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Ahoy!"}]
    }
    assert path.read_bytes() == (json.dumps(expected) + "\n").encode()
    assert not journal.journal_path(path).exists()


async def test_edit_undo_redo_save_matches_disk(sample: Path) -> None:
    original = sample.read_bytes().splitlines(keepends=True)
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        area = screen.editor.query(TurnText).last()
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press(*" Aye")
        await pilot.press("ctrl+z")
        assert screen.dataset.rows[0].data["messages"][1]["content"].endswith("biscuits.")
        assert area.text.endswith("biscuits.")
        assert not screen.dataset.dirty
        await pilot.press("ctrl+y")
        assert area.text.endswith("biscuits. Aye")
        await pilot.press("ctrl+s")
        await settle(pilot)
        rows = [r.encoded() for r in screen.dataset.rows]
    after = sample.read_bytes().splitlines(keepends=True)
    assert after == rows
    assert after[1:] == original[1:]  # the broken line 3 and everything else verbatim
    assert json.loads(after[0])["messages"][1]["content"].endswith("biscuits. Aye")
    assert json.loads(after[0])["tags"] == ["greeting"]


async def test_delete_is_undoable_and_broken_rows_are_read_only(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        first = screen.dataset.rows[0]
        await pilot.press("ctrl+delete")
        assert first not in screen.dataset.rows and len(screen.dataset.rows) == 4
        await pilot.press("ctrl+z")
        assert screen.dataset.rows[0] is first and screen.current == 0
        screen.select(2)
        await pilot.pause()
        assert "cannot be read" in str(screen.editor.query_one(".broken").render())
        await pilot.press("ctrl+delete", "ctrl+d")
        assert len(screen.dataset.rows) == 5


async def test_lint_panel_follows_typing_and_f8_finds_problems(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        status = str(screen.query_one("#status").render())
        assert "1 error" in status and "2 warnings" in status
        await pilot.press("f8")
        assert screen.current == 1  # unknown key 'mood'
        await pilot.press("f8", "f8")
        assert screen.current == 3  # after the broken line, the trailing whitespace
        area = screen.editor.query(TurnText).last()
        area.focus()
        area.select_all()
        await pilot.press("backspace")
        await pilot.pause(0.1)
        panel = str(screen.panel.query_one("#diagnostics").render())
        assert "empty-content" in panel and "whitespace" not in panel
        assert "this answer: 0 words" in str(screen.panel.query_one("#lengths").render())


async def test_filter_by_text_tag_and_problems(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        await pilot.press("ctrl+f", *"tag:food")
        await pilot.press("enter")
        assert screen.filtered == [3]
        screen.query_one("#filter").value = ""
        await pilot.press("ctrl+f", "enter")
        screen.query_one("#problems-only").value = True
        await pilot.pause()
        assert screen.filtered == [1, 2, 3]


async def test_quit_asks_when_unsaved(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n", *"draft")
        await pilot.pause(0.6)
        assert journal.journal_path(sample).exists()  # journaled within a second
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, Choice)
        await pilot.click("#choice-cancel")
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#choice-discard")
        await pilot.pause()
    assert not journal.journal_path(sample).exists()
    assert sample.read_bytes() == (Path(__file__).parent / "data" / "sample.jsonl").read_bytes()


async def test_outside_change_offers_reload(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sample.write_bytes(sample.read_bytes() + b'{"messages": [{"role": "user", "content": "new"}]}\n')
        await pilot.pause(1.3)
        assert isinstance(app.screen, Choice) and "changed" in app.screen.title_text
        await pilot.click("#choice-reload")
        await settle(pilot)
        assert len(screen_of(app).dataset.rows) == 6


async def test_keymap_from_config_remaps_save(sample: Path) -> None:
    settings = Settings(author={"keymap": {"save": "f5"}})
    app = make_app(sample, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.dataset.dirty
        await pilot.press("f5")
        await settle(pilot)
        assert not screen.dataset.dirty
        await pilot.press("f1")
        assert isinstance(app.screen, Help)
        assert any(key == "f5" and "save" in what for key, what, _tip in app.screen.rows)


async def test_near_duplicate_warning_jumps(tmp_path: Path) -> None:
    pytest.importorskip("intone.lint.similarity")
    answer = "The lamp is lit each night at dusk and the gulls gather on the rail to watch the sea go dark"
    records = [
        {
            "messages": [
                {"role": "user", "content": "When do you light the lamp?"},
                {"role": "assistant", "content": answer},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "Any biscuits?"},
                {"role": "assistant", "content": "Always, in the tin."},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "What happens at dusk?"},
                {"role": "assistant", "content": answer + " again"},
            ]
        },
    ]
    path = tmp_path / "near.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        screen.select(2)
        await pilot.pause()
        assert "resembles example 1" in str(screen.panel.query_one("#near").render())
        await pilot.click("#jump")
        assert screen.current == 0


async def test_big_file_streams_in_and_saves_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = [
        json.dumps(
            {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a {i}"}]}
        )
        for i in range(700)
    ]
    lines[450] = '{"broken": '
    path.write_bytes(("\n".join(lines) + "\n").encode())
    before = path.read_bytes()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await settle(pilot)
        assert len(screen.dataset.rows) == 700 and screen.dataset.rows[450].broken
        screen.select(699)
        await pilot.press("ctrl+d")
        await pilot.press("ctrl+z")
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert path.read_bytes() == before


async def test_command_palette_runs_editor_actions(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Duplicate example")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert len(screen_of(app).dataset.rows) == 6


async def test_turns_add_move_remove_role_system_and_undo(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        row = screen.dataset.rows[0]
        roles = lambda: [m["role"] for m in row.data["messages"]]
        await pilot.click("#add-turn")
        await pilot.pause()
        assert roles() == ["user", "assistant", "user"]
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 2
        await pilot.press(*"More?")
        await pilot.click("#add-system")
        await pilot.pause()
        assert roles() == ["system", "user", "assistant", "user"]
        last = screen.editor.query(".turn").last()
        await pilot.click(last.query_one(".move-up"))
        await pilot.pause()
        assert roles() == ["system", "user", "user", "assistant"]
        assert row.data["messages"][2]["content"] == "More?"
        await pilot.click(screen.editor.query(".turn").last().query_one(".role"))
        await pilot.pause()
        assert roles() == ["system", "user", "user", "user"]
        await pilot.click(screen.editor.query(".turn").last().query_one(".remove"))
        await pilot.pause()
        assert roles() == ["system", "user", "user"]
        for _ in range(6):  # remove, role, move, system, typing, add
            await pilot.press("ctrl+z")
        assert roles() == ["user", "assistant"] and not screen.dataset.dirty
        assert [t.text for t in screen.editor.query(TurnText)] == [m["content"] for m in row.data["messages"]]


async def test_quit_can_save_first(tmp_path: Path) -> None:
    path = tmp_path / "fresh.jsonl"
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n", *"hello")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#choice-save")
        await settle(pilot)
    assert json.loads(path.read_bytes())["messages"][0]["content"] == "hello"
    assert app.return_code in (None, 0)


async def test_ctrl_r_switches_the_role_of_the_focused_turn(tmp_path: Path) -> None:
    app = make_app(tmp_path / "roles.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n", *"hi", "tab")
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 1
        row = screen_of(app).dataset.rows[screen_of(app).current]
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert [m["role"] for m in screen_of(app).dataset.rows[screen_of(app).current].data["messages"]] == [
            "user",
            "user",
        ]
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert screen_of(app).dataset.rows[screen_of(app).current].data == row.data


async def test_schema_errors_on_the_first_screen_become_broken_rows(tmp_path: Path) -> None:
    good = (
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy there!"}]}'
    )
    narrator = '{"messages": [{"role": "narrator", "content": "hi"}]}'
    path = tmp_path / "early.jsonl"
    path.write_text("\n".join([good, narrator, good.replace("hi", "hello")]) + "\n")
    before = path.read_bytes()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        rows = screen.dataset.rows
        assert [r.broken for r in rows] == [False, True, False]
        assert [p.name for p in rows[1].problems] == ["unknown-role"]
        assert rows[0].record() is not None and rows[2].record() is not None
        assert screen.live.worst(rows[1]) == "error"
        screen.select(2)
        await pilot.press("ctrl+d", "ctrl+z", "ctrl+s")
        await settle(pilot)
    assert path.read_bytes() == before


async def test_the_shown_example_is_checked_before_the_whole_file(sample: Path, monkeypatch) -> None:
    monkeypatch.setattr(EditorScreen, "lint_all", lambda self, *, with_near: None)  # whole file never done
    app = make_app(sample)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        while screen.reading or not screen.schema_ready:
            await pilot.pause(0.02)
        screen.select(3)  # trailing whitespace in its answer
        await pilot.pause()
        text = str(screen.panel.query_one("#diagnostics").render())
        assert "whitespace" in text and "whole-file checks" in text
        assert not screen.live.ready
