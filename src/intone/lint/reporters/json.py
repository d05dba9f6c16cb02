"""Machine output: {"diagnostics": [...], "summary": {...}} with stable keys."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from intone.lint.engine import LintResult


def render(result: LintResult, out: TextIO) -> None:
    payload = {
        "diagnostics": [d.to_dict() for d in result.diagnostics],
        "summary": result.summary(),
    }
    json.dump(payload, out, ensure_ascii=False, indent=2)
    out.write("\n")
