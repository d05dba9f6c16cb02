"""`intone lint --fix`: safe fixes, atomic, reported on stderr; unparseable lines stay byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli._util import STRUCTURAL, intone

BOM = b"\xef\xbb\xbf"
A = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}'
B = b'{"messages": [{"role": "user", "content": "yo"}, {"role": "assistant", "content": "Squawk."}]}'


def test_fix_whitespace_bom_crlf_blank_then_clean(tmp_path: Path) -> None:
    messy = {
        "messages": [
            {"role": "user", "content": "  Tell me a story "},
            {"role": "assistant", "content": "Once,\r\non a grey sea, a parrot sailed.\r\n", "note": "kept"},
        ],
        "zz-unknown": {"nested": [1, 2]},
        "id": 7,
    }
    target = tmp_path / "messy.jsonl"
    target.write_bytes(BOM + A + b"\r\n\r\n" + json.dumps(messy, ensure_ascii=False).encode() + b"\r\n\n  \n" + B + b"\r\n")
    done = intone("lint", "--fix", "--select", STRUCTURAL, "messy.jsonl", cwd=tmp_path)
    assert done.stderr.startswith("Fixed messy.jsonl: "), done.stderr
    for what in ("byte-order-mark on 1 line", "blank-line on 3 lines", "crlf-line-ending on 3 lines", "whitespace on 1 line"):
        assert what in done.stderr
    fixed = dict(messy, messages=[
        {"role": "user", "content": "Tell me a story"},
        {"role": "assistant", "content": "Once,\non a grey sea, a parrot sailed.", "note": "kept"},
    ])
    assert target.read_bytes() == A + b"\n" + json.dumps(fixed, ensure_ascii=False).encode() + b"\n" + B + b"\n"
    assert list(json.loads(target.read_bytes().splitlines()[1])) == ["messages", "zz-unknown", "id"]  # key order kept
    # What remains after fixing is reported (only the unknown key: not fixable), and nothing else.
    assert done.returncode == 1 and "unknown-key" in done.stdout and "whitespace" not in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".intone_cache")) == ["messy.jsonl"]

    again = intone("lint", "--fix", "--select", STRUCTURAL, "--ignore", "unknown-key", "messy.jsonl", cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""
    assert "All checks passed" in again.stdout


def test_fix_leaves_unparseable_lines_byte_identical(tmp_path: Path) -> None:
    broken = [b'{"messages": [{"role": "user", "content": " x "}', b"{'single': 'quotes'}  ", b"caf\xe9 \t", b"[" * 5000]
    original = A + b"\n\n" + broken[0] + b"\r\n" + broken[1] + b"\n" + broken[2] + b"\n" + broken[3] + b"\n" + B + b"\n"
    target = tmp_path / "broken.jsonl"
    target.write_bytes(original)
    done = intone("lint", "--fix", "--select", STRUCTURAL, "broken.jsonl", cwd=tmp_path)
    assert done.stderr == "Fixed broken.jsonl: blank-line on 1 line\n"
    assert done.returncode == 1
    assert target.read_bytes() == A + b"\n" + broken[0] + b"\r\n" + broken[1] + b"\n" + broken[2] + b"\n" + broken[3] + b"\n" + B + b"\n"
    assert {ln.split(":")[1] for ln in done.stdout.splitlines() if ln.startswith("broken.jsonl:")} >= {"2", "3", "4", "5"}


def test_fix_respects_select_and_ignore(tmp_path: Path) -> None:
    target = tmp_path / "d.jsonl"
    target.write_bytes(BOM + A + b"\n\n" + B + b"\n")
    intone("lint", "--fix", "--select", "blank-line", "d.jsonl", cwd=tmp_path)
    assert target.read_bytes() == BOM + A + b"\n" + B + b"\n"
    done = intone("lint", "--fix", "--select", STRUCTURAL, "--ignore", "byte-order-mark", "d.jsonl", cwd=tmp_path)
    assert done.stderr == "" and target.read_bytes().startswith(BOM)
    intone("lint", "--fix", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert target.read_bytes() == A + b"\n" + B + b"\n"


def test_fix_on_a_clean_file_does_not_rewrite_it(tmp_path: Path) -> None:
    target = tmp_path / "clean.jsonl"
    target.write_bytes(A + b"\n" + B + b"\n")
    before = target.stat()
    done = intone("lint", "--fix", "--select", STRUCTURAL, "clean.jsonl", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
