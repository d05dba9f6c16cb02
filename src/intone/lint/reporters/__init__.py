"""Reporters turn a LintResult into text, JSON, GitHub annotations or SARIF on a stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from intone.lint.engine import LintResult


def report(
    result: LintResult, fmt: str, out: TextIO, *, color: bool = False, statistics: bool = False
) -> None:
    if fmt == "json":
        from intone.lint.reporters.json import render
    elif fmt == "github":
        from intone.lint.reporters.github import render
    elif fmt == "sarif":
        from intone.lint.reporters.sarif import render
    else:
        from intone.lint.reporters.text import render

        render(result, out, color=color, statistics=statistics)
        return
    render(result, out)
