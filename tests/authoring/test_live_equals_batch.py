"""The editor's live findings for an edited record equal batch lint's for that line.

CONVENTIONS: "A property test holds the editor's live findings for a record equal to batch lint's."
Live lint calls the rules' own hooks (read_diagnostics, RecordRule.check, the duplicate rules'
`finding`); this test fails if either side changes alone.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from intone.authoring.live import LiveLint
from intone.authoring.model import Dataset
from intone.lint.engine import Linter
from intone.lint.registry import DatasetRule
from intone.lint.rules import RULES

LINTER = Linter()

SHOWN_LIVE = {"duplicate-example", "duplicate-prompt"}
NOT_LIVE = {r.name for r in RULES if issubclass(r, DatasetRule)} - SHOWN_LIVE
"""Dataset rules the editor does not recompute per keystroke: length and voice statistics, and
near-duplicate (live, it is the panel's "near" list, not a Diagnostic). They show the last full
lint's verdict until the next one (after a save), so they are left out of the comparison on both
sides. Every per-record rule, every reader-problem rule and the duplicate rules are compared."""

PROMPTS = ["Hi", "hi ", "Tell me a joke", "tell me  a joke", "What is 2+2?", "", "Who are you? "]
ANSWERS = [
    "Hello there.",
    "Hello there. ",
    "Four.",
    "A joke about boats, and a long one too, with many words in it for the counts.",
    "",
    " Leading space.",
    "As an AI language model, I cannot tell jokes.",
]
BROKEN = ['{"messages": [', "not json", '{"messages": [{"role": "tool", "content": "x"}]}', "[1, 2]"]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    messages = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(st.sampled_from(["You are Marlo.", "Be brief. "]))})
    for _ in range(draw(st.integers(1, 2))):
        messages.append({"role": "user", "content": draw(st.sampled_from(PROMPTS))})
        messages.append({"role": "assistant", "content": draw(st.sampled_from(ANSWERS))})
    if draw(st.integers(0, 9)) == 0:  # now and then one the schema rejects
        messages = draw(st.sampled_from([[], [{"role": "tool", "content": "x"}], messages[:1]]))
    record: dict[str, Any] = {"messages": messages}
    if draw(st.integers(0, 4)) == 0:
        record["mood"] = "wistful"
    return record


lines = st.one_of(
    records().map(lambda r: json.dumps(r, ensure_ascii=False)),
    st.sampled_from(BROKEN),
)


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[str], int, dict[str, Any]]:
    text = draw(st.lists(lines, min_size=1, max_size=6))
    # copies of earlier lines, so that the duplicate rules have something to find
    for _ in range(draw(st.integers(0, 2))):
        text.insert(draw(st.integers(0, len(text))), draw(st.sampled_from(text)))
    pick = draw(st.integers(0, len(text) - 1))
    new = draw(st.one_of(records(), st.sampled_from(text).filter(lambda t: t not in BROKEN).map(json.loads)))
    return text, pick, new


def key(d) -> tuple:
    return (d.code, d.line, d.message, d.related, d.fix)


def live_and_batch(text: list[str], pick: int, new: dict[str, Any], folder: Path) -> tuple[list, list] | None:
    """Live and batch findings for the `pick`-th editable row after replacing it with `new`
    (None when no row is editable: every line is read-only)."""
    path = folder / "data.jsonl"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    dataset = Dataset.load(path)
    editable = [i for i, r in enumerate(dataset.rows) if not r.readonly]
    if not editable:
        return None
    index = editable[pick % len(editable)]
    live = LiveLint(None, str(path), linter=LINTER)
    live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)
    row = dataset.rows[index]
    dataset.replace(index, new)
    live.update_row(row, index)
    shown = sorted(key(d) for d in live.diagnostics_for(row, index, dataset.rows) if d.name not in NOT_LIVE)

    report = LINTER.lint_stream(io.BytesIO(b"".join(dataset.encoded())), str(path))  # the file as it would be saved
    batch = sorted(key(d) for d in report.diagnostics if d.line == index + 1 and d.name not in NOT_LIVE)
    return shown, batch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_live_findings_for_an_edited_record_equal_batch_lint(case) -> None:
    text, pick, new = case
    with tempfile.TemporaryDirectory() as folder:
        found = live_and_batch(text, pick, new, Path(folder))
    assume(found is not None)
    shown, batch = found
    assert shown == batch


def test_the_cases_reach_the_duplicate_and_reader_rules(tmp_path: Path) -> None:
    """The property compares something: the duplicate rules and a schema hint are among the findings."""
    a = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."}]}
    b = {"messages": [{"role": "user", "content": "hi "}, {"role": "assistant", "content": "Four."}]}
    text = [json.dumps(a), json.dumps(b), json.dumps(b)]
    shown, batch = live_and_batch(text, 2, a, tmp_path)
    assert shown == batch and {k[0] for k in shown} == {"IN300"}
    shown, batch = live_and_batch(text, 1, b, tmp_path)  # an earlier, different answer to the prompt
    assert shown == batch and "prompt 'hi' already appears on line 1" in [m for _, _, m, _, _ in shown]
    shown, batch = live_and_batch(text, 1, {"question": "Hi", "answer": "Hello"}, tmp_path)
    assert shown == batch and any("intone convert" in (fix or "") for *_, fix in shown)
