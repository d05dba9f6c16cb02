"""The editor's controller without an App, and `EditorScreen.add_example` through Pilot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from intone.authoring.app import make_app
from intone.authoring.editor_state import EditorState
from intone.authoring.model import Dataset, ReadOnlyRow
from intone.authoring.widgets.conversation import TurnText
from intone.config import Settings

WITHOUT_AN_APP = """
import sys
from pathlib import Path
from intone.authoring.editor_state import EditorState
from intone.authoring.model import Dataset
from intone.config import Settings

path = Path(sys.argv[1])
state = EditorState(path, Settings(), Dataset.load(path))
state.reset_live()
state.select(3)
state.apply_filter("tag:food", False)
state.type_text(1, "Biscuits, mostly.")
print(sorted(m for m in sys.modules if m.split(".")[0] == "textual"), state.dirty, state.filtered)
"""


def test_the_controller_runs_without_textual(sample: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_AN_APP, str(sample)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["[]", "True", "[3]"]


def opened(path: Path) -> EditorState:
    state = EditorState(path, Settings(), Dataset.load(path))
    state.reset_live()
    rows = state.dataset.rows
    state.live.adopt(state.live.full_lint(rows, with_near=False), rows)  # the screen's worker does this
    return state


def test_move_filter_edit_undo_and_save(sample: Path) -> None:
    state = opened(sample)
    assert state.current == 0 and not state.reading and not state.dirty
    assert state.select(3) is state.dataset.rows[3] and state.current == 3
    assert state.select(99) is None and state.current is None

    assert state.apply_filter("tag:food", False) == [3] and state.hidden(0)
    assert state.apply_filter("", True) == [1, 2, 3]  # unknown key, broken line, trailing space
    assert state.apply_filter("  ", False) is None

    state.select(3)
    change = state.type_text(1, "Biscuits, mostly.")
    assert change is not None and change.index == 3 and not change.structural
    assert state.dirty and state.journal_due
    assert state.dataset.rows[3].messages[1]["content"] == "Biscuits, mostly."
    assert state.type_text(1, "Biscuits, mostly.") is None  # the same text: no edit

    assert state.step(forward=False) is not None and state.note == "undo: typing" and not state.dirty
    assert state.step(forward=False) is None and state.note == "nothing to undo"
    assert state.step(forward=True) is not None and state.dirty

    snapshot = state.begin_save()
    assert snapshot is not None and state.saving and state.begin_save() is None
    state.finish_save(snapshot, state.write(snapshot))
    assert not state.saving and not state.dirty and state.note == "saved 5 lines"
    assert json.loads(sample.read_text().splitlines()[3])["messages"][1]["content"] == "Biscuits, mostly."


def test_structural_edits_and_read_only_rows(sample: Path) -> None:
    state = opened(sample)
    state.select(2)  # the broken line
    with pytest.raises(ReadOnlyRow):
        state.duplicate()
    assert state.find_problem(+1) == 3 and state.find_problem(-1) == 1

    state.select(0)
    change = state.new_example()
    assert change.structural and change.focus and state.current == 1 and len(state.dataset.rows) == 6
    assert state.delete() is not None and len(state.dataset.rows) == 5
    assert state.step(forward=False) is not None and state.current == 1 and len(state.dataset.rows) == 6


def test_add_example_clears_the_filter_and_undoes(sample: Path) -> None:
    state = opened(sample)
    state.apply_filter("tag:food", False)
    record = {"messages": [{"role": "user", "content": "Fog?"}, {"role": "assistant", "content": "Thick."}]}
    change = state.add_example(record, "adopt probe reply", note="adopted")
    assert change.clear_filter and change.turn == 1 and state.filtered is None
    assert state.current == 5 and state.dirty and state.note == "adopted"
    state.step(forward=False)
    assert len(state.dataset.rows) == 5 and state.note == "undo: adopt probe reply" and not state.dirty


@pytest.mark.asyncio
async def test_add_example_opens_the_answer_unsaved_and_undoable(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.editor_screen
        while screen.busy:
            await pilot.pause(0.02)
        await pilot.press("ctrl+f", *"tag:food", "enter")
        assert screen.filtered == [3]
        record = {
            "messages": [
                {"role": "user", "content": "Fog tonight?"},
                {"role": "assistant", "content": "Thick as chowder."},
            ]
        }
        screen.add_example(record, "add example")
        await pilot.pause()
        assert screen.current == 5 and screen.dataset.dirty and screen.filtered is None
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 1
        assert screen.query_one("#filter").value == ""
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert len(screen.dataset.rows) == 5 and not screen.dataset.dirty
    assert len(sample.read_text().splitlines()) == 5  # never saved
