"""Columns of fields inside a JSONL line, used by diagnostics so editors can jump to them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from intone.schemas.jsonl import read_jsonl_bytes
from intone.schemas.locate import locate_field

texts = st.text(max_size=30)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": texts}),
    min_size=1,
    max_size=5,
)


@given(messages, st.dictionaries(st.text(max_size=5), texts, max_size=3), st.booleans())
def test_finds_each_content_key(msgs: list[dict[str, str]], extra: dict[str, str], spaced: bool) -> None:
    msgs = [{**m, "content": f"{m['content']}#{i}"} for i, m in enumerate(msgs)]  # unique values
    record = {**{k: v for k, v in extra.items() if k != "messages"}, "messages": msgs}
    separators = (", ", ": ") if spaced else (",", ":")
    line = json.dumps(record, ensure_ascii=False, separators=separators)
    decoder = json.JSONDecoder()
    for i in range(len(msgs)):
        column = locate_field(line.encode(), ("messages", i, "content"))
        assert column is not None
        rest = line[column - 1 :]
        assert rest.startswith('"content"')
        value_at = rest.index(":") + 1
        value, _ = decoder.raw_decode(rest[value_at:].lstrip())
        assert value == msgs[i]["content"]


def test_missing_field_points_at_its_parent() -> None:
    line = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}'
    column = locate_field(line, ("messages", 1, "content"))
    assert line.decode()[column - 1 :].startswith('{"role": "assistant"}')


def test_invalid_line_gives_none_or_start() -> None:
    assert locate_field(b"\xff\xfe", ("messages",)) is None
    assert locate_field(b"{bad", ("messages",)) == 1


def test_schema_problems_carry_the_column() -> None:
    line = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": 3}]}'
    (parsed,) = read_jsonl_bytes(line)
    by_name = {p.name: p for p in parsed.problems}
    text = line.decode()
    assert text[by_name["unknown-role"].column - 1 :].startswith('"role": "bot"')
    assert text[by_name["schema-error"].column - 1 :].startswith('"content": 3')
