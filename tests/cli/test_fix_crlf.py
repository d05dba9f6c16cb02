"""crlf-line-ending is marked fixable only when `--fix` can convert every CRLF line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli._util import CLEAN, intone

GOOD = json.dumps(CLEAN[0]).encode()


def _lint(tmp_path: Path, *extra: str):
    select = "crlf-line-ending,invalid-json"
    return intone("lint", "--no-cache", "--select", select, *extra, "d.jsonl", cwd=tmp_path)


def test_crlf_on_an_unparseable_line_is_not_offered_as_fixable(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(b'{"messages": [\r\n' + GOOD + b"\r\n")
    first = _lint(tmp_path)
    [crlf] = [ln for ln in first.stdout.splitlines() if "IN105" in ln]
    assert "[*]" not in crlf and "--fix leaves line 1 as it is" in crlf
    assert "fixable with" not in first.stdout
    fixed = _lint(tmp_path, "--fix")
    assert (tmp_path / "d.jsonl").read_bytes() == b'{"messages": [\r\n' + GOOD + b"\n"  # line 2 converted
    again = _lint(tmp_path)
    assert again.stdout == fixed.stdout == first.stdout  # same finding, still not offered as fixable


def test_crlf_on_readable_lines_is_fixable_and_fixed(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(GOOD + b"\r\n\r\n" + GOOD + b"\r\n")
    first = intone("lint", "--no-cache", "--select", "crlf-line-ending", "d.jsonl", cwd=tmp_path)
    assert "IN105 [*]" in first.stdout and "1 fixable" in first.stdout
    intone("lint", "--no-cache", "--select", "crlf-line-ending", "--fix", "d.jsonl", cwd=tmp_path)
    assert b"\r" not in (tmp_path / "d.jsonl").read_bytes()  # the blank line's CRLF too
    done = intone("lint", "--no-cache", "--select", "crlf-line-ending", "d.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
