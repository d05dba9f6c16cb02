"""`intone rules`, `intone rule NAME|CODE`, `--help` of every subcommand, `--version`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from intone import __version__
from intone.cli import build_parser
from intone.lint.rules import RULES
from tests.cli._util import intone


def _subcommands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


def test_rules_lists_every_rule(tmp_path: Path) -> None:
    done = intone("rules", cwd=tmp_path)
    assert done.returncode == 0
    rows = done.stdout.splitlines()
    assert len(rows) == len(RULES)
    for row, rule in zip(rows, RULES):
        code, name, severity = row.split()[:3]
        assert (code, name, severity) == (rule.code, rule.name, rule.severity)
        assert row.rstrip().endswith(rule.summary)
        assert ("[*]" in row) == rule.fixable


def test_rules_json_and_markdown(tmp_path: Path) -> None:
    listed = json.loads(intone("rules", "--format", "json", cwd=tmp_path).stdout)
    assert [(r["code"], r["name"], r["severity"], r["fixable"]) for r in listed] == [
        (r.code, r.name, r.severity, r.fixable) for r in RULES
    ]
    table = intone("rules", "--format", "markdown", cwd=tmp_path).stdout.splitlines()
    assert table[0].startswith("| code | name |") and len(table) == len(RULES) + 2


@pytest.mark.parametrize("key", ["invalid-json", "IN100", "in100", "Whitespace", "too-long"])
def test_rule_shows_docs_by_name_or_code(tmp_path: Path, key: str) -> None:
    rule = RULES.get(key)
    assert rule is not None
    done = intone("rule", key, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith(f"# {rule.name} ({rule.code})")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in done.stdout
    if rule.options:
        assert "[tool.intone.rules." + rule.name + "]" in done.stdout
        for option in rule.options:
            assert option.name in done.stdout


def test_unknown_rule_exits_2(tmp_path: Path) -> None:
    done = intone("rule", "IN999", cwd=tmp_path)
    assert done.returncode == 2 and "IN999" in done.stderr and "intone rules" in done.stderr


@pytest.mark.parametrize("command", _subcommands())
def test_help_of_every_subcommand(tmp_path: Path, command: str) -> None:
    done = intone(command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: intone {command}")


def test_top_level_help_and_version(tmp_path: Path) -> None:
    done = intone("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("lint", "rules", "rule", "convert"):
        assert command in done.stdout
    version = intone("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"intone {__version__}"
