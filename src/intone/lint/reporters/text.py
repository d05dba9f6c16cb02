"""Human output in ruff's shape: `path:line:col: CODE name message`, then a fix hint."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TextIO

from intone.lint.printable import printable

if TYPE_CHECKING:
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.engine import LintResult

_COLORS = {"error": "31", "warning": "33", "info": "36", "bold": "1", "dim": "2"}


def _c(text: str, style: str, color: bool) -> str:
    return f"\x1b[{_COLORS[style]}m{text}\x1b[0m" if color else text


def location(d: Diagnostic) -> str:
    if d.line is None:
        return printable(d.path)
    return f"{printable(d.path)}:{d.line}:{d.column or 1}"


def render(result: LintResult, out: TextIO, *, color: bool = False, statistics: bool = False) -> None:
    diags = result.diagnostics
    for d in diags:
        fixable = " [*]" if d.fixable else ""
        code = _c(d.code, d.severity, color)
        # Messages and details quote dataset text: escape its control characters (printable.py).
        out.write(f"{_c(location(d), 'bold', color)}: {code}{fixable} {d.name} {printable(d.message)}\n")
        out.writelines(f"  {printable(extra)}\n" for extra in d.details)
        if d.related:
            out.write(
                f"  related: line{'s' if len(d.related) > 1 else ''} {', '.join(map(str, d.related))}\n"
            )
        if d.fix:
            out.write(f"  {_c('help:', 'dim', color)} {printable(d.fix)}\n")
    if statistics and diags:
        out.write("\n")
        counts = Counter((d.code, d.name, d.fixable) for d in diags)
        for (code, name, fixable), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.write(f"{n:>6}  {code}  {'[*] ' if fixable else '    '}{name}\n")
    summary = result.summary()
    n = summary["diagnostics"]
    records = summary["records"]
    files = summary["files"]
    scope = f"{records} record{'s' if records != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    if n == 0:
        out.write(_c(f"All checks passed: {scope}.\n", "bold", color))
        return
    parts = []
    for key, word in (("errors", "error"), ("warnings", "warning"), ("infos", "info")):
        if summary[key]:
            parts.append(f"{summary[key]} {word}{'s' if summary[key] != 1 else ''}")
    lines = summary["lines"]
    where = f"{files} file{'s' if files != 1 else ''} ({lines} line{'s' if lines != 1 else ''}, {records} valid record{'s' if records != 1 else ''})"
    out.write(f"\nFound {n} problem{'s' if n != 1 else ''} ({', '.join(parts)}) in {where}.\n")
    if summary["fixable"]:
        out.write(f"[*] {summary['fixable']} fixable with `intone lint --fix`.\n")
