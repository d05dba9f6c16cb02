"""What lint marks fixable, `--fix` fixes: after fix_file, no finding that was fixable comes back."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intone.config import Settings
from intone.lint.engine import Linter
from intone.lint.fix import fix_file
from intone.lint.rules import RULES
from intone.schemas.jsonl import read_jsonl_bytes

FIXABLE = sorted(r.name for r in RULES if r.fixable)
PARSE = ["invalid-json", "invalid-utf8", "not-an-object", "schema-error"]
_GOOD = [
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]},
    {"messages": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "Ahoy!\r\n"}]},
]
_PIECES = st.one_of(
    st.sampled_from([json.dumps(r).encode() for r in _GOOD]),
    st.sampled_from([b"", b"  ", b"\r", b"[1]", b"{", b"\xff\xfe", b"\xef\xbb\xbf", b'{"messages": 3}',
                     json.dumps(_GOOD[0]).encode() + b"\r"]),
    st.binary(max_size=20),
)
_FILES = st.lists(st.tuples(_PIECES, st.sampled_from([b"\n", b"\r\n"])), max_size=8).map(
    lambda parts: b"".join(p + e for p, e in parts)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_FILES, enabled=st.sets(st.sampled_from(FIXABLE), min_size=1))
def test_every_fixable_finding_is_fixed(tmp_path: Path, data: bytes, enabled: set[str]) -> None:
    linter = Linter(Settings(select=sorted(enabled) + PARSE, cache=False))
    before = linter.lint_lines(read_jsonl_bytes(data), "f.jsonl")
    marked = {d.name for d in before.diagnostics if d.fixable}
    target = tmp_path / "f.jsonl"
    target.write_bytes(data)
    fix_file(target, enabled)
    after = linter.lint_path(target)
    back = [d for d in after.diagnostics if d.name in marked]
    # Known exception (as in test_robustness): removing the lines above a stray mid-file BOM
    # makes it the file's first bytes, which reads as a new BOM and maybe a new blank line.
    if b"\xef\xbb\xbf" not in data[1:]:
        assert not back, (data, enabled, back)


def test_crlf_on_a_line_fix_cannot_read_is_not_fixable() -> None:
    data = b'{"messages": 1\r\n' + json.dumps(_GOOD[0]).encode() + b"\r\n"
    linter = Linter(Settings(select=["crlf-line-ending", "invalid-json"], cache=False))
    report = linter.lint_lines(read_jsonl_bytes(data), "f.jsonl")
    [crlf] = [d for d in report.diagnostics if d.code == "IN105"]
    assert not crlf.fixable
    assert "--fix leaves line 1 as it is" in crlf.message
