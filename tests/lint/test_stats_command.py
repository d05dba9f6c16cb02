"""`intone stats`: JSON figures match the file, text has histograms, HTML is self-contained."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from intone.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/voice"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def conv(prompt: str, *answers: str, tags=None, system=None) -> dict:
    msgs = [{"role": "system", "content": system}] if system else []
    for i, a in enumerate(answers):
        msgs += [
            {"role": "user", "content": prompt if i == 0 else f"{prompt} again"},
            {"role": "assistant", "content": a},
        ]
    rec = {"messages": msgs}
    if tags:
        rec["tags"] = tags
    return rec


@pytest.fixture
def small(tmp_path: Path) -> Path:
    records = [
        conv("Hi", "Hello there, love!", tags=["greeting"]),
        conv(
            "Tell me a story",
            "Once upon a time " + "the tide came in and went out again. " * 10,
            tags=["story"],
        ),
        conv(
            "Any advice?",
            "Hmm, drink water.",
            "Hmm, and sleep more, pet.",
            tags=["advice"],
            system="Be kind.",
        ),
        conv("What now?", "Hmm, <script>alert(1)</script> put the kettle on.", tags=["<i>odd</i>"]),
        "not json",
    ]
    path = tmp_path / "small.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), "utf-8")
    return path


def run_json(capsys, *args: str) -> dict:
    assert main(["stats", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_counts_match_the_file(small: Path, capsys) -> None:
    data = run_json(capsys, str(small))
    c = data["counts"]
    assert c["lines"] == 5 and c["records"] == 4 and c["invalid_lines"] == 1
    assert c["multi_turn"] == 1 and c["single_turn"] == 3 and c["with_system"] == 1
    assert c["assistant_turns"] == 5 and c["user_turns"] == 5
    assert c["tags"] == {"greeting": 1, "story": 1, "advice": 1, "<i>odd</i>": 1}
    words = sorted(
        len(a.split())
        for a in [
            "Hello there, love!",
            "Once upon a time " + "the tide came in and went out again. " * 10,
            "Hmm, drink water.",
            "Hmm, and sleep more, pet.",
            "Hmm, <script>alert(1)</script> put the kettle on.",
        ]
    )
    assert data["answer_words"]["min"] == words[0] and data["answer_words"]["max"] == words[-1]
    assert data["answer_words"]["median"] == words[2]
    assert sum(b["count"] for b in data["answer_words"]["histogram"]) == 5
    assert data["answer_words_by_tag"]["<i>odd</i>"]["count"] == 1
    assert data["answer_words_by_tag"]["advice"]["count"] == 2
    assert data["openers"][0] == {"phrase": "hmm", "answers": 3, "share": 0.6}
    assert data["tokens"]["total"] > data["tokens"]["answers"] > 0


def test_tokens_are_counted_with_tiktoken_by_default(small: Path, capsys) -> None:
    from intone.lint.tokens import TiktokenCounter

    data = run_json(capsys, str(small))
    counter = TiktokenCounter()
    assert data["tokenizer"] == counter.name
    assert data["tokens"]["per_answer"]["max"] == counter.count_text(
        "Once upon a time " + "the tide came in and went out again. " * 10
    )


def test_markers_from_config(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.jsonl"
    lines = (FIXTURES / "catchphrase.jsonl").read_text("utf-8")
    path.write_text(lines, "utf-8")
    (tmp_path / "intone.toml").write_text('[persona]\nmarkers = {"mark my words" = [0.05, 0.3]}\n', "utf-8")
    data = run_json(capsys, str(path))
    answers = [json.loads(x)["messages"][-1]["content"].lower() for x in lines.splitlines()]
    expected = sum("mark my words" in a for a in answers)
    assert data["markers"] == [
        {
            "phrase": "mark my words",
            "answers": expected,
            "share": round(expected / len(answers), 3),
            "target": [0.05, 0.3],
        }
    ]


def test_style_outliers_and_drift_are_reported(capsys) -> None:
    data = run_json(capsys, str(FIXTURES / "style-drift.jsonl"))
    lines = [row["line"] for row in data["style_outliers"]]
    assert lines and min(lines) > 120
    assert data["style_drift"] and "end of the file" in data["style_drift"]
    clean = run_json(capsys, str(FIXTURES / "clean-warm.jsonl"))
    assert clean["style_outliers"] == [] and clean["style_drift"] is None


def test_text_output_has_histograms_and_tables(small: Path, capsys) -> None:
    assert main(["stats", str(small)]) == 0
    out = capsys.readouterr().out
    assert "Answer length (words)" in out and "█" in out
    assert "Top openers" in out and "hmm" in out
    assert "Answer words by prompt type" in out


def test_html_is_self_contained_with_embedded_plots(small: Path, tmp_path: Path, capsys) -> None:
    report = tmp_path / "report.html"
    assert main(["stats", str(small), "--html", str(report)]) == 0
    text = report.read_text("utf-8")
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(images) >= 3
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "<i>odd</i>" not in text and "&lt;i&gt;odd&lt;/i&gt;" in text
    assert not re.search(r"(src|href)=['\"]https?:", text)


def test_missing_file_and_overwriting_input_are_usage_errors(small: Path, tmp_path: Path, capsys) -> None:
    assert main(["stats", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["stats", str(small), "--html", str(small)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert small.read_text("utf-8").count("\n") == 5


def test_empty_file(tmp_path: Path, capsys) -> None:
    data = run_json(capsys, str(write_jsonl(tmp_path / "empty.jsonl", [])))
    assert data["counts"]["records"] == 0 and data["answer_words"]["count"] == 0
    assert main(["stats", str(tmp_path / "empty.jsonl")]) == 0


def test_stats_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, intone.commands.stats, intone.lint.similarity;"
        "heavy = [m for m in ('rich', 'matplotlib', 'textual', 'torch') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_tokenizer_is_a_usage_error(small: Path, capsys) -> None:
    assert main(["stats", str(small), "--tokenizer", str(small.parent / "no-such-tokenizer")]) == 2
    err = capsys.readouterr().err
    assert "--tokenizer" in err and "Traceback" not in err
