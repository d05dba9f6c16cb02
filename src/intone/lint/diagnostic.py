"""The one Diagnostic type that every part of intone reports with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding. `line` is 1-based, or None for a finding about the whole dataset."""

    path: str
    line: int | None
    column: int | None
    code: str
    name: str
    severity: Severity
    message: str
    fix: str | None = None
    """How to fix it, for a person."""
    related: tuple[int, ...] = ()
    """Other lines involved (for example the earlier copy of a duplicate)."""
    fixable: bool = False
    """`intone lint --fix` can fix it safely."""
    details: tuple[str, ...] = ()
    """Extra lines for the text output only, e.g. a small histogram."""

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (documented in the README)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "related": list(self.related),
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, fixable: bool = False, details: tuple[str, ...] = ()
    ) -> Diagnostic:
        return cls(
            path=data["path"],
            line=data["line"],
            column=data["column"],
            code=data["code"],
            name=data["name"],
            severity=data["severity"],
            message=data["message"],
            fix=data["fix"],
            related=tuple(data["related"]),
            fixable=fixable,
            details=details,
        )

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line or 0, self.column or 0, self.code)
