"""`plainly_valid` (no pydantic) may only say yes where the pydantic schema says yes, too."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from intone.schemas.jsonl import Line, read_jsonl_bytes, validate_line
from intone.schemas.record import CONVERSATION_ADAPTER
from intone.schemas.shape import plainly_valid

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
# Mostly near-valid records, so that both answers come up often.
roles = st.sampled_from(["user", "assistant", "system", "User", "bot", ""]) | json_values
messages = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "role": roles,
            "content": st.text(max_size=8) | json_values,
            "name": json_values,
        },
    )
    | json_values,
    max_size=4,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "messages": messages | json_values,
        "id": st.text(max_size=3) | st.integers() | json_values,
        "tags": st.lists(st.text(max_size=3), max_size=3) | json_values,
        "notes": st.text(max_size=3) | json_values,
        "split": st.text(max_size=3) | json_values,
        "extra": json_values,
    },
)


def pydantic_accepts(data: object) -> bool:
    try:
        CONVERSATION_ADAPTER.validate_python(data)
    except Exception:  # noqa: BLE001 - any refusal counts
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(records | json_values)
def test_plainly_valid_implies_the_schema_accepts(data: object) -> None:
    if plainly_valid(data):
        assert pydantic_accepts(data), data


def test_ordinary_records_are_plainly_valid() -> None:
    ordinary = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]},
        {
            "messages": [
                {"role": "system", "content": "You are Wren."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Ahoy!", "weight": 1},
            ],
            "id": 7,
            "tags": ["greeting"],
            "notes": None,
            "split": "train",
            "source": {"by": "me"},
        },
        {"messages": [], "id": "a-1"},
    ]
    for data in ordinary:
        assert plainly_valid(data) and pydantic_accepts(data)


def test_records_the_quick_check_refuses() -> None:
    for data in (
        [],
        {},
        {"messages": [{"role": "narrator", "content": "x"}]},
        {"messages": [{"role": "user", "content": 3}]},
        {"messages": [{"role": "user"}]},
        {"messages": [], "id": True},
        {"messages": [], "tags": ["a", 1]},
        {"messages": [], "notes": 5},
    ):
        assert not plainly_valid(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(records | json_values, max_size=4))
def test_validating_later_gives_what_reading_with_validation_gives(items: list[object]) -> None:
    data = b"".join(json.dumps(item).encode() + b"\n" for item in items)
    eager = list(read_jsonl_bytes(data))
    lazy = list(read_jsonl_bytes(data, validate=False))
    assert all(line.record is None for line in lazy)
    for line in lazy:
        validate_line(line)
    assert [(ln.record, ln.problems) for ln in lazy] == [(ln.record, ln.problems) for ln in eager]


def test_validate_line_leaves_unparsed_lines_alone() -> None:
    line = Line(number=1, raw=b"[1]", ending=b"\n", data=[1])
    validate_line(line)
    assert line.record is None and line.problems == []
