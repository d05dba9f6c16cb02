"""`intone lint --fix`: safe fixes only, written atomically. Unparseable lines stay byte-identical."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intone.lint.rules.structure import Whitespace
from intone.schemas.jsonl import dump_record, line_bytes, read_jsonl_path, write_jsonl_atomic


def fix_file(path: str | Path, enabled: set[str]) -> Counter[str]:
    """Apply the safe fixes of the enabled rules; return how many fixes each rule made."""
    fixed: Counter[str] = Counter()
    out: list[bytes] = []
    for line in read_jsonl_path(path):
        names = {p.name for p in line.problems}
        if line.bom and "byte-order-mark" in enabled:
            fixed["byte-order-mark"] += 1
            line.bom = False
        if line.blank:
            if "blank-line" in enabled:
                fixed["blank-line"] += 1
                continue
            out.append(line_bytes(line))
            continue
        parsed = line.data is not None and not (names & {"invalid-json", "invalid-utf8"})
        if not parsed:
            out.append(line_bytes(line))  # never touch what we cannot read
            continue
        ending = line.ending
        if ending == b"\r\n" and "crlf-line-ending" in enabled:
            fixed["crlf-line-ending"] += 1
            ending = b"\n"
        body = line.raw
        if line.record is not None and "whitespace" in enabled and isinstance(line.data, dict):
            if Whitespace.fix_data(line.data):
                fixed["whitespace"] += 1
                body = dump_record(line.data)
        out.append((b"\xef\xbb\xbf" if line.bom else b"") + body + ending)
    if fixed:
        write_jsonl_atomic(path, out)
    return fixed
