"""The README's rule table is generated from the registry; this keeps it honest."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

from intone.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _table_from_readme() -> str:
    text = README.read_text("utf-8")
    match = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", text, re.S)
    assert match, "README.md lacks the <!-- rules:start --> ... <!-- rules:end --> table"
    return match.group(1).strip()


def test_rule_table_matches_intone_rules() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rules", "--format", "markdown"]) == 0
    assert _table_from_readme() == out.getvalue().strip(), (
        "README rule table is stale: paste `intone rules --format markdown` between the markers"
    )


def test_readme_names_the_two_commands() -> None:
    text = README.read_text("utf-8")
    assert "make demo" in text and "make test" in text
