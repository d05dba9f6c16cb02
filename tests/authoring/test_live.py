"""Incremental lint: one record's rules per keystroke, dataset context kept up to date."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from intone.authoring.live import LiveLint
from intone.authoring.model import Dataset, set_content
from intone.authoring.panel_view import band, histogram
from intone.lint.engine import Linter
from intone.lint.text import quantile


def ready(path: Path) -> tuple[Dataset, LiveLint]:
    dataset = Dataset.load(path)
    live = LiveLint(None, str(path))
    live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)
    return dataset, live


def test_full_lint_matches_the_linter(sample: Path) -> None:
    dataset, live = ready(sample)
    expected = Linter().lint_path(sample).diagnostics
    errors = sum(d.severity == "error" for d in expected)
    warnings = sum(d.severity == "warning" for d in expected)
    assert live.counts() == (errors, warnings)
    assert live.worst(dataset.rows[2]) == "error"  # the broken line
    assert live.worst(dataset.rows[3]) == "warning"  # trailing whitespace
    assert live.worst(dataset.rows[0]) is None


def test_keystroke_updates_only_the_edited_record(sample: Path) -> None:
    dataset, live = ready(sample)
    errors, warnings = live.counts()
    row = dataset.rows[0]
    dataset.replace(0, set_content(row.data, 1, ""))
    live.update_row(row, 0)
    names = [d.name for d in live.diagnostics_for(row, 0, dataset.rows)]
    assert names == ["empty-content"]
    assert live.counts() == (errors + 1, warnings)
    dataset.replace(0, set_content(row.data, 1, "Back again."))
    live.update_row(row, 0)
    assert live.counts() == (errors, warnings)


def test_live_duplicate_detection(sample: Path) -> None:
    dataset, live = ready(sample)
    row = dataset.rows[4]
    copy = dataset.rows[0].data
    dataset.replace(4, copy)
    live.update_row(row, 4)
    diags = live.diagnostics_for(row, 4, dataset.rows)
    assert [(d.name, d.related) for d in diags] == [("duplicate-example", (1,))]


def test_answer_lengths_follow_edits(sample: Path) -> None:
    dataset, live = ready(sample)
    row = dataset.rows[3]
    before = sum(live.word_counts.values())
    dataset.replace(3, set_content(row.data, 1, "one two three four five six"))
    live.update_row(row, 3)
    assert sum(live.word_counts.values()) == before
    assert live.word_counts[6] == 1 and live.word_counts[1] == 0
    view = live.panel(row, 3, dataset.rows)
    assert view.answer_words == 6 and view.answer_tokens == 6
    assert view.histogram.counts[view.histogram.marked] >= 1


def test_band_and_histogram() -> None:
    counts = Counter({5: 10, 50: 80, 150: 10})
    b = band(counts)
    # The same interpolated quantiles as the length rules (lint.text.quantile), counted not listed.
    assert (b.low, b.median, b.high, b.n) == (46, 50, 60, 100)
    values = sorted(counts.elements())
    assert [b.low, b.median, b.high] == [round(quantile(values, q)) for q in (0.1, 0.5, 0.9)]
    assert (
        b.place(3) == "below the band"
        and b.place(50) == "inside the band"
        and b.place(151) == "above the band"
    )
    h = histogram(counts, 50, bins=5)
    assert sum(h.counts) == 100 and h.edges[h.marked] <= 50 < h.edges[h.marked + 1]


def test_panel_says_what_is_not_checked_yet(sample: Path) -> None:
    from intone.authoring.widgets.lint_panel import LintPanel

    dataset = Dataset.load(sample)
    live = LiveLint(None, str(sample))
    row = dataset.rows[3]  # trailing whitespace in its answer
    view = live.panel(row, 3, dataset.rows)
    assert not view.checked and not view.file_checked
    assert "checking…" in LintPanel._diagnostics(view).plain
    live.update_row(row, 3)  # its own rules, before the whole file's
    view = live.panel(row, 3, dataset.rows)
    assert view.checked and not view.file_checked
    text = LintPanel._diagnostics(view).plain
    assert "whitespace" in text and "whole-file checks" in text and "checking…" not in text
    live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)
    clean = live.panel(dataset.rows[0], 0, dataset.rows)
    assert clean.checked and clean.file_checked
    assert LintPanel._diagnostics(clean).plain.endswith("✔ no problems")


def test_voice_findings_appear_live_as_you_type(sample: Path) -> None:
    """Issue 12.4: assistant-boilerplate and template-leak, the batch rules' own checks, show for
    the edited answer at once (the editor runs every per-record rule on each keystroke)."""
    dataset, live = ready(sample)
    row = dataset.rows[0]
    dataset.replace(0, set_content(row.data, 1, "Certainly! As an AI language model, I hope this helps."))
    live.update_row(row, 0)
    found = {d.name: d for d in live.diagnostics_for(row, 0, dataset.rows)}
    assert "assistant-boilerplate" in found
    assert '"As an AI language model"' in found["assistant-boilerplate"].message
    dataset.replace(0, set_content(row.data, 1, "Aye, the kettle's on.<end_of_turn>"))
    live.update_row(row, 0)
    names = [d.name for d in live.diagnostics_for(row, 0, dataset.rows)]
    assert names == ["template-leak"]
    saved = sample.parent / "saved.jsonl"
    saved.write_bytes(b"".join(dataset.encoded()))
    batch = [d for d in Linter().lint_path(saved).diagnostics if d.line == 1 and d.name == "template-leak"]
    assert [d.message for d in batch] == [d.message for d in live.diagnostics_for(row, 0, dataset.rows)]


def test_live_near_duplicates_compare_one_answer_at_a_time(tmp_path: Path) -> None:
    """As the near-duplicate rule does: a conversation whose SECOND answer copies another's
    answer is found, though its answers joined would not resemble it (issue 11)."""
    copied = "the lighthouse keeper counts the gulls every morning before the fog rolls in from the bay"
    other = ("a completely different second answer about baking bread with rye flour and caraway seeds, "
             "slowly, in a cold oven, for a long afternoon with the radio on and the cat asleep nearby")
    records = [
        {"messages": [{"role": "user", "content": "Morning?"}, {"role": "assistant", "content": copied}]},
        {"messages": [
            {"role": "user", "content": "Tell me about bread."}, {"role": "assistant", "content": other},
            {"role": "user", "content": "And the gulls?"}, {"role": "assistant", "content": copied + " again"},
        ]},
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    dataset = Dataset.load(path)
    live = LiveLint(None, str(path))
    live.adopt(live.full_lint(dataset.rows), dataset.rows)
    near = live.near_duplicates(dataset.rows[1])
    assert near and near[0][0] == dataset.rows[0].uid and near[0][1] >= 0.7
    # The batch rule agrees that the two are near copies.
    assert any(d.name == "near-duplicate" for d in Linter().lint_path(path).diagnostics)
