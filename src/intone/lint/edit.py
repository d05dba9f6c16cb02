"""One line as `--fix` may change it: what fixable rules' `fix` hooks edit, and what may be edited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intone.schemas.jsonl import BOM, Line, dump_record
from intone.schemas.problems import Problem

_UNREADABLE = frozenset({Problem.INVALID_JSON, Problem.INVALID_UTF8})


def rewritable(line: Line) -> bool:
    """Whether --fix may rewrite this line (its terminator, its record): blank lines and lines it
    could read. The engine asks the same question before it calls a CRLF finding fixable."""
    if line.blank:
        return True
    return line.data is not None and not any(p.name in _UNREADABLE for p in line.problems)


@dataclass
class LineEdit:
    """A line being fixed. A rule's `fix(edit)` changes these fields and says whether it did."""

    line: Line
    body: bytes
    """The line's bytes without terminator and BOM."""
    ending: bytes
    bom: bool
    drop: bool = False
    """Leave the line out of the file."""
    data_changed: bool = False
    """`data` was edited in place: the body is re-serialized from it."""

    @classmethod
    def of(cls, line: Line) -> LineEdit:
        return cls(line, line.raw, line.ending, line.bom)

    @property
    def rewritable(self) -> bool:
        return rewritable(self.line)

    @property
    def data(self) -> Any:
        return self.line.data

    def encoded(self) -> bytes:
        body = dump_record(self.line.data) if self.data_changed else self.body
        return (BOM if self.bom else b"") + body + self.ending
