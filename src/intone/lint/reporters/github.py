"""GitHub Actions workflow commands: one `::error file=...` annotation per diagnostic."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from intone.lint.printable import printable

if TYPE_CHECKING:
    from intone.lint.engine import LintResult

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    # The runner echoes these lines into a log that renders ANSI escapes: show control characters.
    text = printable(text, multiline=True)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: LintResult, out: TextIO) -> None:
    for d in result.diagnostics:
        props = [f"file={_escape_prop(d.path)}"]
        if d.line is not None:
            props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
        props.append(f"title={_escape_prop(f'{d.code} {d.name}')}")
        message = d.message + (f" ({d.fix})" if d.fix else "")
        out.write(f"::{_LEVEL[d.severity]} {','.join(props)}::{_escape_data(message)}\n")
