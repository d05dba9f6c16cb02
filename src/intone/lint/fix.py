"""`intone lint --fix`: the safe fixes of the selected fixable rules, written atomically.

Each fixable rule owns its fix (`Rule.fix`); this module only walks the file, hands each line
to those rules in code order, and writes the result. Unparseable lines stay byte-identical
(each rule's fix checks `LineEdit.rewritable`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intone.lint.edit import LineEdit, rewritable
from intone.lint.rules import RULES
from intone.schemas.jsonl import read_jsonl_path, write_jsonl_atomic

__all__ = ["fix_file", "rewritable"]


def fix_file(path: str | Path, enabled: set[str]) -> Counter[str]:
    """Apply the safe fixes of the enabled rules; return how many fixes each rule made."""
    rules = [rule() for rule in RULES if rule.fixable and rule.name in enabled]
    fixed: Counter[str] = Counter()
    out: list[bytes] = []
    for line in read_jsonl_path(path):
        edit = LineEdit.of(line)
        for rule in rules:
            if rule.fix(edit):
                fixed[rule.name] += 1
            if edit.drop:
                break
        if not edit.drop:
            out.append(edit.encoded())
    if fixed:
        write_jsonl_atomic(path, out)
    return fixed
