"""The journal: written beside the file, recovered exactly, never loses either side's work."""

from __future__ import annotations

import json
from pathlib import Path

from intone.authoring import journal
from intone.authoring.model import Dataset, empty_record, set_content


def edited_dataset(path: Path) -> Dataset:
    dataset = Dataset.load(path)
    row = dataset.rows[0]
    dataset.replace(0, set_content(row.data, 1, "Edited answer."))
    dataset.insert(5, set_content(empty_record(), 0, "A new prompt"))
    dataset.delete(4)
    return dataset


def test_journal_round_trip_recovers_the_exact_rows(sample: Path) -> None:
    dataset = edited_dataset(sample)
    expected = dataset.encoded()
    journal.write_journal(sample, dataset.base_digest, journal.snapshot_entries(dataset))
    assert journal.journal_path(sample).name == ".sample.jsonl.intone-journal"
    entry = journal.read_journal(sample)
    assert entry is not None and entry.edited == 2

    reopened = Dataset.load(sample)
    message = journal.recover(reopened, entry)
    assert "recovered 2 edited" in message
    assert reopened.encoded() == expected
    assert reopened.dirty
    reopened.save()
    assert sample.read_bytes() == b"".join(expected)


def test_recovery_after_the_file_changed_keeps_both(sample: Path) -> None:
    dataset = edited_dataset(sample)
    journal.write_journal(sample, dataset.base_digest, journal.snapshot_entries(dataset))
    outside = sample.read_bytes() + b'{"messages": [{"role": "user", "content": "from elsewhere"}]}\n'
    sample.write_bytes(outside)
    reopened = Dataset.load(sample)
    message = journal.recover(reopened, journal.read_journal(sample))
    assert "changed since" in message
    saved = b"".join(reopened.encoded())
    assert saved.startswith(outside)
    tail = [json.loads(line) for line in saved[len(outside) :].splitlines()]
    assert [r["messages"][0]["content"] for r in tail] == ["Ahoy, who are you?", "A new prompt"]


def test_unreadable_journal_is_ignored(sample: Path) -> None:
    journal.journal_path(sample).write_text("{not json")
    assert journal.read_journal(sample) is None
    journal.discard_journal(sample)
    assert not journal.journal_path(sample).exists()
    journal.discard_journal(sample)  # no journal: no error
