"""The list model and undo stack, without a terminal (no textual imported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.authoring.model import (
    Dataset,
    ReadOnlyRow,
    empty_record,
    filter_rows,
    insert_turn,
    move_turn,
    parse_filter,
    remove_turn,
    set_content,
    set_system,
)


def type_text(dataset: Dataset, index: int, message: int, text: str) -> None:
    """Type `text` one character at a time, as the editor reports it."""
    row = dataset.rows[index]
    base = row.data["messages"][message]["content"]
    for i in range(1, len(text) + 1):
        dataset.replace(index, set_content(row.data, message, base + text[:i]), coalesce=(row.uid, message))


def test_open_and_save_unchanged_is_byte_identical(sample: Path) -> None:
    before = sample.read_bytes()
    dataset = Dataset.load(sample)
    assert len(dataset) == 5
    assert not dataset.dirty
    dataset.save()
    assert sample.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        b'{"messages": []}\r\n{"messages":[{"role":"user","content":"x"}]}\r\n',  # CRLF, compact JSON
        b'\xef\xbb\xbf{"messages": []}\n\n{"messages": [], "extra": {"k": [1, 2]}}',  # BOM, blank, no final LF
        b'not json\n{"messages": "wrong type"}\n\xff\xfe\n',
    ],
)
def test_odd_files_round_trip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(content)
    Dataset.load(path).save()
    assert path.read_bytes() == content


def test_edit_changes_only_that_line_and_keeps_unknown_fields(sample: Path) -> None:
    lines = sample.read_bytes().splitlines(keepends=True)
    dataset = Dataset.load(sample)
    type_text(dataset, 1, 2, " Aye.")
    assert dataset.dirty
    dataset.save()
    after = sample.read_bytes().splitlines(keepends=True)
    assert after[0] == lines[0] and after[2:] == lines[2:]  # broken line 3 verbatim, in place
    record = json.loads(after[1])
    assert record["mood"] == "wistful" and record["id"] == "storm-62"
    assert record["messages"][2]["content"].endswith("alone. Aye.")
    assert not dataset.dirty


def test_typing_is_one_undo_step_and_undo_returns_to_clean(sample: Path) -> None:
    dataset = Dataset.load(sample)
    original = dataset.rows[0].data
    type_text(dataset, 0, 1, " Hello")
    assert len(dataset.undo.edits) == 1
    dataset.undo.seal()
    type_text(dataset, 0, 0, "!")
    assert len(dataset.undo.edits) == 2
    dataset.undo.undo(dataset)
    assert dataset.dirty
    dataset.undo.undo(dataset)
    assert dataset.rows[0].data == original  # the content before typing (a row keeps only bytes)
    assert not dataset.dirty
    dataset.undo.redo(dataset)
    assert dataset.rows[0].data["messages"][1]["content"].endswith(" Hello")
    assert dataset.dirty


def test_insert_delete_undo_redo(sample: Path) -> None:
    dataset = Dataset.load(sample)
    first = dataset.rows[0]
    dataset.insert(0, empty_record())
    assert len(dataset) == 6 and dataset.rows[1] is first
    dataset.delete(1)
    assert first not in dataset.rows
    dataset.undo.undo(dataset)
    assert dataset.rows[1] is first
    dataset.undo.undo(dataset)
    assert dataset.rows[0] is first and len(dataset) == 5
    assert not dataset.dirty
    dataset.undo.redo(dataset)
    assert len(dataset) == 6


def test_broken_rows_are_read_only(sample: Path) -> None:
    dataset = Dataset.load(sample)
    broken = dataset.rows[2]
    assert broken.broken and broken.problems[0].name == "invalid-json"
    with pytest.raises(ReadOnlyRow, match="line 3"):
        dataset.delete(2)
    with pytest.raises(ReadOnlyRow):
        dataset.replace(2, empty_record())


def test_append_after_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "nolf.jsonl"
    path.write_bytes(b'{"messages": []}')
    dataset = Dataset.load(path)
    dataset.insert(1, empty_record())
    dataset.save()
    lines = path.read_bytes().split(b"\n")
    assert lines[0] == b'{"messages": []}'
    assert json.loads(lines[1]) == empty_record()


def test_missing_file_starts_empty_and_is_created_on_save(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    dataset = Dataset.load(path)
    assert len(dataset) == 0 and not path.exists()
    dataset.insert(0, empty_record())
    dataset.save()
    assert json.loads(path.read_bytes()) == empty_record()


def test_record_helpers_never_mutate() -> None:
    data = {
        "messages": [{"role": "user", "content": "a", "name": "x"}, {"role": "assistant", "content": "b"}],
        "k": 1,
    }
    frozen = json.dumps(data)
    new = move_turn(insert_turn(set_system(data, "sys"), 3, "user", "c"), 3, -1)
    assert json.dumps(data) == frozen
    assert [m["role"] for m in new["messages"]] == ["system", "user", "user", "assistant"]
    assert new["messages"][1]["name"] == "x" and new["k"] == 1
    assert set_system(new, None)["messages"][0]["role"] == "user"
    assert len(remove_turn(new, 0)["messages"]) == 3


def test_filter(sample: Path) -> None:
    dataset = Dataset.load(sample)
    assert parse_filter("tag:food biscuits") == ("biscuits", "food")
    assert filter_rows(dataset.rows, "biscuits") == [0, 3]
    assert filter_rows(dataset.rows, "", "food") == [3]
    worst = {dataset.rows[3].uid: "warning"}
    assert filter_rows(dataset.rows, problems_only=True, worst=lambda r: worst.get(r.uid)) == [3]


def test_outside_change_is_noticed(sample: Path) -> None:
    dataset = Dataset.load(sample)
    assert not dataset.changed_on_disk()
    sample.write_bytes(sample.read_bytes() + b'{"messages": []}\n')
    assert dataset.changed_on_disk()
