"""`intone stats` text never prints "None" where a figure is missing (no records, no answers, mean 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.cli import main

NO_ANSWER = {"messages": [{"role": "user", "content": "hi"}], "tags": ["lonely"]}
ANSWERED = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy there."}]}
EMPTY_ANSWER = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}


@pytest.mark.parametrize(("name", "text", "says"), [
    ("empty file", "", "no valid records"),
    ("only invalid lines", "not json\n{nope\n", "no valid records"),
    ("no assistant answer", json.dumps(NO_ANSWER) + "\n", "no answers"),
    ("a tag with no answers", json.dumps(ANSWERED) + "\n" + json.dumps(NO_ANSWER) + "\n", "no answers"),
    ("one empty answer (mean 0, no CV)", json.dumps(EMPTY_ANSWER) + "\n", "CV n/a"),
])
def test_missing_figures_are_said_not_none(tmp_path: Path, capsys, name: str, text: str, says: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(text, "utf-8")
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "None" not in out, out
    assert says in out, out


def test_json_keeps_null_for_missing_figures(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("", "utf-8")
    assert main(["stats", "--format", "json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"]["per_example"]["median"] is None


def test_html_report_has_no_none(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(ANSWERED) + "\n" + json.dumps(NO_ANSWER) + "\n", "utf-8")
    report = tmp_path / "r.html"
    assert main(["stats", "--html", str(report), str(path)]) == 0
    page = report.read_text("utf-8")
    assert "None<" not in page and "median None" not in page and "no answers" in page
