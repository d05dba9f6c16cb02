"""`intone lint --fix`: safe fixes only, written atomically. Unparseable lines stay byte-identical."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intone.lint.rules.structure import Whitespace
from intone.schemas.jsonl import Line, dump_record, line_bytes, read_jsonl_path, write_jsonl_atomic

_UNREADABLE = frozenset({"invalid-json", "invalid-utf8"})


def rewritable(line: Line) -> bool:
    """Whether --fix may rewrite this line (its terminator, its record): blank lines and lines it
    could read. The engine asks the same question before it calls a CRLF finding fixable."""
    if line.blank:
        return True
    return line.data is not None and not any(p.name in _UNREADABLE for p in line.problems)


def fix_file(path: str | Path, enabled: set[str]) -> Counter[str]:
    """Apply the safe fixes of the enabled rules; return how many fixes each rule made."""
    fixed: Counter[str] = Counter()
    out: list[bytes] = []
    for line in read_jsonl_path(path):
        if line.bom and "byte-order-mark" in enabled:
            fixed["byte-order-mark"] += 1
            line.bom = False
        if line.blank and "blank-line" in enabled:
            fixed["blank-line"] += 1
            continue
        if not rewritable(line):
            out.append(line_bytes(line))  # never touch what we cannot read
            continue
        body, ending = line.raw, line.ending
        if ending == b"\r\n" and "crlf-line-ending" in enabled:
            fixed["crlf-line-ending"] += 1
            # A \r before the CRLF is JSON whitespace; left there, it would make a new CRLF.
            body, ending = body.rstrip(b"\r"), b"\n"
        if line.record is not None and "whitespace" in enabled and isinstance(line.data, dict):
            if Whitespace.fix_data(line.data):
                fixed["whitespace"] += 1
                body = dump_record(line.data)
        out.append((b"\xef\xbb\xbf" if line.bom else b"") + body + ending)
    if fixed:
        write_jsonl_atomic(path, out)
    return fixed
