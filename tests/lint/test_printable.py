"""Dataset text never reaches the terminal raw: control characters are shown as escapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.lint.printable import printable
from tests.cli._util import intone, rec, write_jsonl

ESC_TITLE = "\x1b]0;pwned\x07"  # OSC: would retitle the terminal window
ESC_CLEAR = "\x1b[2J"  # CSI: would clear the screen


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain text, émoji 👩‍💻 and\u00a0nbsp", "plain text, émoji 👩‍💻 and\u00a0nbsp"),
    ("\x1b[31mred", "\\x1b[31mred"),
    (ESC_TITLE, "\\x1b]0;pwned\\x07"),
    ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
    ("csi \x9b1m del \x7f nul \x00", "csi \\x9b1m del \\x7f nul \\x00"),
    ("abc\u202edcba", "abc\\u202edcba"),
    ("one\u2028two", "one\\u2028two"),
])
def test_printable_one_line(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_multiline_keeps_newlines_and_tabs_but_not_cr_or_esc() -> None:
    assert printable("a\n\tb\r\x1b", multiline=True) == "a\n\tb\\r\\x1b"


def _opener_file(tmp_path: Path) -> Path:
    # 25 answers that all open with the same escape-laden word: repeated-opener (IN420) quotes it.
    rows = [
        rec(f"Question {i}?", f"{ESC_TITLE}Ahoy{ESC_CLEAR} matey, the answer is {i} barrels of {w}.")
        for i, w in enumerate(["rum", "tea", "salt", "fish", "rope"] * 5)
    ]
    # A marker phrase in config is echoed as written: catchphrase-imbalance and `stats` quote it.
    (tmp_path / "intone.toml").write_text('[persona]\nmarkers = {"\\u001b]0;pwned\\u0007ahoy" = [0, 0.1]}\n')
    return write_jsonl(tmp_path / "esc.jsonl", rows)


def test_repeated_opener_text_output_shows_escapes(tmp_path: Path) -> None:
    _opener_file(tmp_path)
    done = intone("lint", "--no-cache", "--select", "repeated-opener", "esc.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "IN420" in done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    # Control characters separate words (intone.lint.text), so the quoted opener is its words.
    assert "'0 pwned ahoy'" in done.stdout


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_keep_the_true_string(tmp_path: Path, fmt: str) -> None:
    _opener_file(tmp_path)
    args = ("--no-cache", "--select", "catchphrase-imbalance", "--format", fmt, "esc.jsonl")
    done = intone("lint", *args, cwd=tmp_path)
    assert "\x1b" not in done.stdout  # JSON escaping makes it inert ...
    payload = json.loads(done.stdout)
    messages = (
        [d["message"] for d in payload["diagnostics"]]
        if fmt == "json"
        else [r["message"]["text"] for r in payload["runs"][0]["results"]]
    )
    assert any("\x1b]0;pwned\x07ahoy" in m for m in messages)  # ... and the data stays as it is


def test_github_annotations_show_escapes(tmp_path: Path) -> None:
    _opener_file(tmp_path)
    args = ("--no-cache", "--select", "catchphrase-imbalance", "--format", "github", "esc.jsonl")
    done = intone("lint", *args, cwd=tmp_path)
    assert done.stdout.startswith("::warning ")
    assert "\x1b" not in done.stdout and "\\x1b]0;pwned\\x07ahoy" in done.stdout


def test_file_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "bad\x1b[31m.jsonl").write_text("{nope\n", "utf-8")
    done = intone("lint", "--no-cache", "--select", "invalid-json", "sets", cwd=tmp_path)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "bad\\x1b[31m.jsonl:1:" in done.stdout


def test_stats_tables_show_escapes(tmp_path: Path) -> None:
    _opener_file(tmp_path)
    done = intone("stats", "esc.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Markers" in done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b]0;pwned\\x07ahoy" in done.stdout
    # --format json keeps the true string
    data = json.loads(intone("stats", "--format", "json", "esc.jsonl", cwd=tmp_path).stdout)
    assert data["markers"][0]["phrase"] == "\x1b]0;pwned\x07ahoy"


def test_stats_tag_with_escapes(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "t.jsonl", [rec("hi", "Ahoy there.", tags=["\x1b[5mblink"])])
    done = intone("stats", "t.jsonl", cwd=tmp_path)
    assert "\x1b" not in done.stdout and "\\x1b[5mblink" in done.stdout
