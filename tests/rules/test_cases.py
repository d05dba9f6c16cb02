"""Rule cases as data: tests/rules/cases/<rule-name>.yaml, run against the real engine.

Format of a case file::

    rule: role-order
    cases:
      - name: assistant before user          # what the case shows
        lines:                               # records, each written with json.dumps
          - {"messages": [{"role": "assistant", "content": "hi"}]}
        expect: [1]                          # lines where the rule fires (null = dataset level)
      - name: clean
        raw: "{\"messages\": []}\n"          # or exact file text, for parse-level rules
        expect: []
      - name: fixture file
        file: tests/fixtures/voice/uniform.jsonl   # or a file, relative to the repo root
        options: {min-cv: 0.2}               # rule options
        eval_lines: [...] / eval_file: ...   # for cross rules: the eval side
        expect: [null]
        severities: [info]                   # optional: the findings' severities, sorted
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from intone.config import Settings
from intone.lint.engine import Linter, LintResult
from intone.lint.rules import RULES

CASES = Path(__file__).parent / "cases"
ROOT = Path(__file__).resolve().parents[2]


def _load() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text("utf-8"))
        for i, case in enumerate(spec["cases"]):
            found.append((spec["rule"], {**case, "_id": f"{path.stem}:{case.get('name', i)}"}))
    return found


ALL_CASES = _load()


def _materialize(case: dict[str, Any], prefix: str, tmp_path: Path) -> Path:
    if f"{prefix}file" in case:
        return ROOT / case[f"{prefix}file"]
    target = tmp_path / f"{prefix or 'train'}data.jsonl"
    if f"{prefix}raw" in case:
        target.write_bytes(case[f"{prefix}raw"].encode("utf-8"))
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in case[f"{prefix}lines"])
        target.write_text(text, "utf-8")
    return target


def run_case(rule_name: str, case: dict[str, Any], tmp_path: Path) -> list[int | None]:
    return [d.line for d in case_findings(rule_name, case, tmp_path)]


def case_findings(rule_name: str, case: dict[str, Any], tmp_path: Path) -> list:
    """The rule's findings on a case, sorted by line (dataset-level first)."""
    settings = Settings(select=[rule_name], cache=False)
    if case.get("options"):
        settings.rules = {rule_name: case["options"]}
    if case.get("settings"):
        for key, value in case["settings"].items():
            setattr(settings, key.replace("-", "_"), value)
    linter = Linter(settings)
    path = _materialize(case, "", tmp_path)
    try:
        report = linter.lint_path(path)
    except OSError as exc:  # as `intone lint DIR` does for an entry it cannot read
        report = linter.unreadable(path, exc)
    result = LintResult([report])
    if "eval_lines" in case or "eval_file" in case or "eval_raw" in case:
        result = linter.lint_with_eval(result, _materialize(case, "eval_", tmp_path))
    return sorted(
        (d for d in result.diagnostics if d.name == rule_name),
        key=lambda d: -1 if d.line is None else d.line,
    )


@pytest.mark.parametrize(("rule_name", "case"), ALL_CASES, ids=[c["_id"] for _, c in ALL_CASES])
def test_rule_case(rule_name: str, case: dict[str, Any], tmp_path: Path) -> None:
    expected = sorted(case["expect"], key=lambda n: -1 if n is None else n)
    found = case_findings(rule_name, case, tmp_path)
    assert [d.line for d in found] == expected
    if "severities" in case:
        assert sorted(d.severity for d in found) == sorted(case["severities"])


def test_every_rule_has_failing_and_passing_cases() -> None:
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for rule_name, case in ALL_CASES:
        by_rule.setdefault(rule_name, []).append(case)
    for rule in RULES:
        if rule.reported_by:  # produced by another command; tested where it is produced
            continue
        cases = by_rule.get(rule.name, [])
        assert any(c["expect"] for c in cases), f"{rule.name}: no failing case in cases/{rule.name}.yaml"
        assert any(not c["expect"] for c in cases), f"{rule.name}: no passing case"


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        doc = rule.doc()
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert section in doc, f"{rule.name} lacks {section}"
        if rule.options:
            assert "## Options" in doc, f"{rule.name} has options but no Options section"


def test_every_reader_problem_has_exactly_one_rule() -> None:
    from intone.lint.registry import LineRule
    from intone.schemas.problems import Problem

    line_rules = [r for r in RULES if issubclass(r, LineRule)]
    assert sorted(r.problem for r in line_rules) == sorted(Problem)
    for problem in Problem:
        assert RULES.for_problem(problem).name == problem.value


def test_rules_reported_elsewhere_are_registered_with_docs() -> None:
    rule = RULES.get("TR001")  # the trainer's old code still finds it
    assert rule is not None and rule.name == "truncated-assistant-turn" and rule.code == "IN311"
    assert rule.reported_by == "intone train"


def test_fixable_rules_own_their_fix() -> None:
    from intone.lint.registry import RecordRule, Registry, RuleError

    for rule in RULES:
        assert rule.fixable == ("fix" in vars(rule)), rule.name  # fixable exactly when it has a fix

    class Half(RecordRule):
        """
        ## What it does
        x
        ## Why is this bad?
        x
        ## Example
        x
        ## Use instead
        x
        """

        code, name, severity, summary, fixable = "IN999", "half-fixable", "warning", "x", True

    with pytest.raises(RuleError, match="no fix"):
        Registry([Half])
