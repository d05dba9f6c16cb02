"""style-drift judges voice, not content: masking, acronyms, copies, a planted off-voice answer."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from intone.config import Settings
from intone.lint.engine import Linter
from intone.lint.style import answer_style, mask_content

ROOT = Path(__file__).resolve().parents[2]
VOICE = ROOT / "tests/fixtures/voice"


def findings(path: Path):
    report = Linter(Settings(select=["style-drift"], cache=False)).lint_path(path)
    return [d for d in report.diagnostics if d.name == "style-drift"]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_content_is_masked_and_prose_kept() -> None:
    text = (
        "Here is the call, which you can run:\n\n```bash\ncurl -H 'X: y' https://a.example/v2\n```\n\n"
        "Install it with `npm i x` or see https://docs.example.com/x?y=1 and mail a@b.io.\n"
        "$ pip install foo==1.2\nmkdir my-app\ncd my-app\n"
        "const x = await fetch(url);\n"
        "Edit src/app/main.py or ~/.config/x, then restart after 30 seconds.\n"
        "1. Open the settings\n2. Turn it on"
    )
    prose = mask_content(text)
    for gone in (
        "curl",
        "https",
        "npm",
        "a@b.io",
        "pip",
        "mkdir",
        "cd my-app",
        "const",
        "main.py",
        "~/",
        "30",
        "1.",
    ):
        assert gone not in prose, gone
    for kept in (
        "Here is the call, which you can run:",
        "Install it with",
        "Edit",
        "then restart after",
        "Open the settings",
    ):
        assert kept in prose, kept


def test_acronyms_are_not_shouting_but_shouting_is() -> None:
    terse = answer_style("TCP is reliable, UDP is fast. Use HTTP over TCP and DNS over UDP for the lookups.")
    assert terse.values["shouting"] == 0
    assert terse.words == 11  # the six acronyms are not words of prose
    listed = answer_style("TCP is reliable, ordered, slow. UDP is fast, cheap, lossy. Pick one.")
    assert listed.values["commas"] == 0  # an enumeration's commas are content
    loud = answer_style("I LOVE THIS SO MUCH and it is AMAZING, honestly the best thing today.")
    assert loud.values["shouting"] > 0


def test_copies_are_one_finding_with_the_other_lines_related() -> None:
    found = findings(VOICE / "style-copies.jsonl")
    assert [(d.line, d.related) for d in found] == [(21, (32, 45, 53))]
    assert "exclamations" in found[0].message and "3 exact copies" in found[0].message


CORPORATE = {
    45: "Frost formation is typically associated with clear skies, low wind speeds and ground temperatures "
    "at or below freezing. Customers are advised to monitor local weather forecasts and temperature alerts "
    "on a regular basis. In order to ensure optimal outcomes, we recommend that appropriate protective "
    "measures be implemented prior to the evening in question.",
    81: "Operating a small business successfully requires a structured approach to planning, customer "
    "engagement and financial management. It is recommended that owners establish clear objectives and "
    "review key performance indicators on a monthly basis. Maintaining accurate records of costs and revenue "
    "enables informed decision-making and supports sustainable growth. Consistent service quality is "
    "essential for building customer loyalty. Our team would be pleased to provide further guidance "
    "regarding business planning resources. Please do not hesitate to contact us should you require "
    "additional information.",
    135: "We understand that receiving an unsatisfactory examination result can be a challenging experience. "
    "It is advisable to review the assessment feedback in order to identify specific areas for improvement. "
    "Subsequently, a structured study plan should be developed in consultation with your academic advisor. "
    "Please be assured that a single result does not determine your overall academic trajectory.",
}


def test_bundled_persona_is_clean() -> None:
    assert findings(ROOT / "data/persona.jsonl") == []


def test_corporate_answers_planted_in_the_persona_are_found_and_nothing_else(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (ROOT / "data/persona.jsonl").read_text("utf-8").splitlines()]
    for line, text in CORPORATE.items():
        # the same question, answered by a service desk instead of Wren
        rows[line - 1]["messages"][-1]["content"] = text
    found = findings(write(tmp_path / "wren.jsonl", rows))
    assert sorted(d.line for d in found) == sorted(CORPORATE)


def _fixture_module():
    spec = importlib.util.spec_from_file_location("make_style_cases", VOICE / "make_style_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_held_out_one_voice_sets_are_clean(seed: int, tmp_path: Path) -> None:
    """Fresh draws (not the committed fixtures) of one voice with varied lengths, and of one
    documentation voice full of code and acronyms: no answer stands out."""
    make = _fixture_module()
    assert findings(write(tmp_path / "varied.jsonl", make.captain_records(random.Random(seed), 180))) == []
    assert findings(write(tmp_path / "docs.jsonl", make.doc_records(random.Random(seed), 90))) == []
