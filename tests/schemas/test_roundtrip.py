"""Hypothesis: any bytes in, no crash; write-then-read keeps every record; clean files round-trip."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intone.schemas.jsonl import line_bytes, read_jsonl_bytes, read_jsonl_path, write_jsonl_atomic

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Each example writes and fsyncs files: fewer of them.
WRITES = settings(FAST, max_examples=50)

# Bytes that look like JSONL often enough to reach every branch of the reader.
_FRAGMENTS = st.sampled_from(
    [b"{", b"}", b"[", b"]", b'"', b":", b",", b"\n", b"\r\n", b"\r", b" ", b"\xef\xbb\xbf", b"\xe9",
     b"\xff", b'"messages"', b'"role"', b'"content"', b'"user"', b'"assistant"', b'"bot"', b"null",
     b"1", b"123456789012345678901", b"\\ud800", b"\\u00e9", b"NaN", b'{"messages": []}']
)
jsonl_bytes = st.one_of(st.binary(max_size=400), st.lists(_FRAGMENTS, max_size=60).map(b"".join))


def _physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@FAST
@given(jsonl_bytes)
def test_any_bytes_one_line_each_never_raises(data: bytes) -> None:
    lines = list(read_jsonl_bytes(data))
    assert [ln.number for ln in lines] == list(range(1, _physical_lines(data) + 1))
    assert b"".join(line_bytes(ln) for ln in lines) == data
    for ln in lines:
        assert ln.record is None or ln.data is not None
        if ln.record is not None:
            assert not any(p.name in ("invalid-json", "invalid-utf8", "not-an-object", "schema-error") for p in ln.problems)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**80),  # beyond 64 bits must survive too
    st.integers(min_value=-(2**80), max_value=-(2**63) + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text()},
        optional={"name": st.text(max_size=5), "weight": json_values},
    ),
    max_size=4,
)
records = st.fixed_dictionaries(
    {"messages": messages},
    optional={
        "id": st.one_of(st.text(max_size=10), st.integers()),
        "tags": st.lists(st.text(max_size=6), max_size=3),
        "notes": st.text(),
        "split": st.sampled_from(["train", "valid", "test"]),
        "extra": json_values,
        "Ünïcödé 🦜": json_values,
    },
)
any_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@WRITES
@given(st.lists(st.one_of(records, any_objects), max_size=8))
def test_write_then_read_keeps_every_record_in_order(tmp_path: Path, items: list[dict]) -> None:
    target = tmp_path / "round.jsonl"
    write_jsonl_atomic(target, items)
    lines = list(read_jsonl_path(target))
    assert len(lines) == len(items)
    assert [ln.data for ln in lines] == items
    for ln, item in zip(lines, items):
        assert not any(p.name in ("invalid-json", "invalid-utf8", "blank-line") for p in ln.problems)
        assert ln.ending == b"\n"


@WRITES
@given(st.lists(records, max_size=8))
def test_clean_file_rewrites_byte_identical(tmp_path: Path, items: list[dict]) -> None:
    first = tmp_path / "first.jsonl"
    write_jsonl_atomic(first, items)
    original = first.read_bytes()
    second = tmp_path / "second.jsonl"
    write_jsonl_atomic(second, [line_bytes(ln) for ln in read_jsonl_path(first)])
    assert second.read_bytes() == original
    write_jsonl_atomic(first, [line_bytes(ln) for ln in read_jsonl_path(first)])  # in place, too
    assert first.read_bytes() == original


@WRITES
@given(jsonl_bytes)
def test_any_file_rewrites_byte_identical_from_line_bytes(tmp_path: Path, data: bytes) -> None:
    target = tmp_path / "any.jsonl"
    target.write_bytes(data)
    write_jsonl_atomic(target, [line_bytes(ln) for ln in read_jsonl_path(target)])
    assert target.read_bytes() == data
