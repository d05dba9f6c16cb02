"""too-long counts a prefix of huge turns (fast), and says so; ordinary turns are counted whole."""

from __future__ import annotations

import json
from pathlib import Path

from intone.config import Settings
from intone.lint.engine import Linter


def _lint(tmp_path: Path, answer: str, limit: int) -> list[str]:
    path = tmp_path / "x.jsonl"
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": answer}]}
    path.write_text(json.dumps(record) + "\n")
    report = Linter(Settings(select=["too-long"], max_tokens=limit)).lint_path(path)
    return [d.message for d in report.diagnostics]


def test_huge_turn_is_reported_as_at_least(tmp_path: Path) -> None:
    (message,) = _lint(tmp_path, "word " * 5000, 20)
    assert message.startswith("at least ") and "over max-tokens 20" in message


def test_ordinary_turn_is_counted_exactly(tmp_path: Path) -> None:
    (message,) = _lint(tmp_path, "word " * 30, 20)
    assert not message.startswith("at least")
    assert int(message.split()[0]) > 20


def test_under_the_limit_is_quiet(tmp_path: Path) -> None:
    assert _lint(tmp_path, "Ahoy!", 20) == []
