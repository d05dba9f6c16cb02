"""Bad input never crashes the linter or --fix, and --fix never loses what it cannot read (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intone.config import Settings
from intone.lint.engine import Linter
from intone.lint.fix import fix_file
from intone.lint.rules import RULES
from intone.schemas.jsonl import line_bytes, read_jsonl_bytes, read_jsonl_path

_GOOD = [
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]},
    {"messages": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "Ahoy!\r\n"}], "x": 1},
    {"messages": [{"role": "system", "content": "Be Pim."}, {"role": "user", "content": "hi"}]},
    {"messages": [{"role": "bot", "content": ""}]},
]
_PIECES = st.one_of(
    st.sampled_from([json.dumps(r).encode() for r in _GOOD]),
    st.sampled_from([b"", b"  ", b"[1]", b"null", b'{"messages": 3}', b"{", b"\xff\xfe", b"\xef\xbb\xbf",
                     b'"\\ud800"', b"[" * 3000, b'{"id": 123456789012345678901234567890, "messages": []}']),
    st.binary(max_size=40),
)
_FILES = st.lists(st.tuples(_PIECES, st.sampled_from([b"\n", b"\r\n"])), max_size=12).map(
    lambda parts: b"".join(p + e for p, e in parts)
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LINTER = Linter(Settings(cache=False))


@SETTINGS
@given(_FILES)
def test_every_rule_survives_any_file(data: bytes) -> None:
    n_lines = len(list(read_jsonl_bytes(data)))
    report = LINTER.lint_lines(read_jsonl_bytes(data), "any.jsonl")
    assert report.n_lines == n_lines
    codes = {r.code for r in RULES}
    for d in report.diagnostics:
        assert d.code in codes
        assert d.line is None or 1 <= d.line <= n_lines, d
        assert all(1 <= r <= n_lines for r in d.related)


@SETTINGS
@given(_FILES)
def test_fix_is_safe_and_idempotent(tmp_path: Path, data: bytes) -> None:
    target = tmp_path / "fix.jsonl"
    target.write_bytes(data)
    before = list(read_jsonl_bytes(data))
    unreadable = [ln.raw for ln in before if ln.data is None and not ln.blank]
    records = [ln.data for ln in before if ln.data is not None]
    fixable = {r.name for r in RULES if r.fixable}
    fix_file(target, fixable)
    out = target.read_bytes()
    # Lines it cannot read come out byte-identical (terminator and file BOM aside), in order.
    physical = [p.removesuffix(b"\r") for p in out.split(b"\n")]
    it = iter(physical)
    assert all(any(raw in (p, p.removeprefix(b"\xef\xbb\xbf")) for p in it) for raw in unreadable), (
        unreadable, physical)
    after = list(read_jsonl_path(target))
    # Readable lines keep their records: same count, same keys in the same order.
    kept = [ln.data for ln in after if ln.data is not None]
    assert len(kept) == len(records)
    for old, new in zip(records, kept):
        assert type(old) is type(new)
        if isinstance(old, dict):
            assert list(old) == list(new)
    assert b"".join(line_bytes(ln) for ln in after) == out
    assert [p.name for p in tmp_path.iterdir()] == ["fix.jsonl"]
    # A second --fix changes nothing, unless a stray mid-file BOM became the file's first bytes.
    if b"\xef\xbb\xbf" not in data[1:]:
        assert not fix_file(target, fixable)
        assert target.read_bytes() == out
