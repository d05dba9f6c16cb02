"""The streaming reader: one `Line` per physical line, every problem on its own line, never a raise."""

from __future__ import annotations

import json
from pathlib import Path

from intone.schemas.jsonl import line_bytes, read_jsonl_bytes, read_jsonl_path

GOOD = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}'


def lines_of(data: bytes):
    return list(read_jsonl_bytes(data))


def problems(line) -> list[str]:
    return [p.name for p in line.problems]


def test_clean_lines_validate_to_records() -> None:
    got = lines_of(GOOD + b"\n" + GOOD + b"\n")
    assert [ln.number for ln in got] == [1, 2]
    assert all(ln.record is not None and not ln.problems for ln in got)
    assert got[0].record.messages[1].content == "Ahoy!"
    assert got[0].ending == b"\n"


def test_invalid_json_has_its_column_and_reading_goes_on() -> None:
    got = lines_of(GOOD + b'\n{"messages": [1,]}\n' + GOOD + b"\n")
    assert problems(got[0]) == [] and problems(got[2]) == []
    (problem,) = got[1].problems
    assert problem.name == "invalid-json"
    assert problem.column == 17  # the ']' after the trailing comma
    assert "column 17" in problem.message
    assert got[1].data is None and got[1].record is None


def test_invalid_utf8_names_the_byte() -> None:
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'
    got = lines_of(GOOD + b"\n" + bad + b"\n")
    (problem,) = got[1].problems
    assert problem.name == "invalid-utf8"
    assert "0xe9" in problem.message
    assert problem.column == bad.index(b"\xe9") + 1
    assert problems(got[0]) == []


def test_bom_is_reported_and_stripped_before_parsing() -> None:
    got = lines_of(b"\xef\xbb\xbf" + GOOD + b"\n" + GOOD + b"\n")
    assert problems(got[0]) == ["byte-order-mark"]
    assert got[0].bom and got[0].record is not None
    assert problems(got[1]) == []
    assert line_bytes(got[0]).startswith(b"\xef\xbb\xbf")


def test_bom_after_line_one_is_not_a_file_bom() -> None:
    got = lines_of(GOOD + b"\n\xef\xbb\xbf" + GOOD + b"\n")
    assert problems(got[1]) == ["invalid-json"]


def test_crlf_reported_once_at_first_crlf_line() -> None:
    got = lines_of(GOOD + b"\n" + GOOD + b"\r\n" + GOOD + b"\r\n")
    assert [problems(ln) for ln in got] == [[], ["crlf-line-ending"], []]
    assert all(ln.record is not None for ln in got)
    assert got[1].ending == b"\r\n" and not got[1].raw.endswith(b"\r")


def test_blank_lines_each_reported() -> None:
    got = lines_of(GOOD + b"\n\n   \n\t\r\n" + GOOD)
    assert [ln.number for ln in got] == [1, 2, 3, 4, 5]
    assert [problems(ln) for ln in got] == [[], ["blank-line"], ["blank-line"], ["crlf-line-ending", "blank-line"], []]
    assert got[4].ending == b"" and got[4].record is not None


def test_non_object_lines() -> None:
    got = lines_of(b'[1, 2]\n"text"\n3.5\nnull\ntrue\n')
    assert [problems(ln) for ln in got] == [["not-an-object"]] * 5
    assert "array" in got[0].problems[0].message
    assert "null" in got[3].problems[0].message
    assert got[0].data == [1, 2]


def test_wrong_types_have_field_paths() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Ahoy!"},
            {"role": "user", "content": 3},
            {"role": "assistant"},
        ],
        "tags": "greeting",
    }
    (line,) = lines_of(json.dumps(record).encode())
    assert line.record is None and line.data == record
    by_field = {p.field: p for p in line.problems}
    assert set(by_field) == {"messages[2].content", "messages[3].content", "tags"}
    assert all(p.name == "schema-error" for p in line.problems)
    assert "expected a string, got number 3" in by_field["messages[2].content"].message
    assert "missing" in by_field["messages[3].content"].message
    assert by_field["tags"].message.startswith("tags: expected a list")


def test_missing_messages_and_unknown_role() -> None:
    got = lines_of(b'{"id": 1}\n{"messages": [{"role": "bot", "content": "x"}]}\n')
    assert got[0].problems[0].field == "messages" and problems(got[0]) == ["schema-error"]
    assert problems(got[1]) == ["unknown-role"]
    assert got[1].problems[0].field == "messages[0].role"
    assert "'bot'" in got[1].problems[0].message


def test_unknown_keys_are_kept_on_the_record() -> None:
    (line,) = lines_of(b'{"messages": [{"role": "user", "content": "hi", "name": "Bo"}], "weight": 2}')
    assert line.problems == []
    assert line.data["weight"] == 2 and line.data["messages"][0]["name"] == "Bo"


def test_ten_megabyte_line() -> None:
    big = "a" * (10 << 20)
    record = {"messages": [{"role": "user", "content": "tell"}, {"role": "assistant", "content": big}]}
    data = GOOD + b"\n" + json.dumps(record).encode() + b"\n" + b"{oops\n" + GOOD + b"\n"
    got = lines_of(data)
    assert [ln.number for ln in got] == [1, 2, 3, 4]
    assert got[1].record is not None and len(got[1].record.messages[1].content) == 10 << 20
    assert problems(got[2]) == ["invalid-json"]
    assert problems(got[3]) == []


def test_ten_megabyte_broken_line() -> None:
    data = b'{"messages": "' + b"x" * (10 << 20) + b"\n" + GOOD + b"\n"
    got = lines_of(data)
    assert problems(got[0]) == ["invalid-json"] and problems(got[1]) == []


def test_deep_nesting_does_not_raise() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    unclosed = b"{" * 100_000
    nested_field = b'{"messages": [{"role": "user", "content": ' + b"[" * 1000 + b"]" * 1000 + b"}]}"
    nested_message = b'{"messages": [' + b"[" * 1010 + b"]" * 1010 + b"]}"
    got = lines_of(b"\n".join([deep, GOOD, unclosed, nested_field, nested_message, GOOD]) + b"\n")
    assert [ln.number for ln in got] == [1, 2, 3, 4, 5, 6]
    assert problems(got[0]) == ["invalid-json"]
    assert problems(got[2]) == ["invalid-json"]
    assert problems(got[3]) == ["schema-error"] and got[3].problems[0].field == "messages[0].content"
    assert problems(got[4]) == ["schema-error"]
    assert problems(got[1]) == [] and problems(got[5]) == []


def test_lone_surrogate_escape_is_invalid_json() -> None:
    got = lines_of(b'{"messages": [{"role": "user", "content": "a\\ud800"}]}\n{"k\\udc00": 1}\n{"e": "\\ud83d\\ude00"}\n')
    assert problems(got[0]) == ["invalid-json"] and got[0].problems[0].column == 45
    assert "\\ud800" in got[0].problems[0].message
    assert problems(got[1]) == ["invalid-json"]
    assert got[2].data == {"e": "\U0001f600"}


def test_integers_beyond_64_bits_stay_exact() -> None:
    big = 123456789012345678901234567890
    (line,) = lines_of(b'{"messages": [], "id": %d, "n": -9223372036854775809, "f": 1e25}' % big)
    assert line.data["id"] == big and isinstance(line.data["id"], int)
    assert line.data["n"] == -9223372036854775809
    assert line.data["f"] == 1e25
    assert line.record is not None and line.record.id == big


def test_no_trailing_newline_and_empty_input() -> None:
    assert lines_of(b"") == []
    (line,) = lines_of(GOOD)
    assert line.ending == b"" and line.record is not None


def test_read_path_matches_read_bytes(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + GOOD + b"\r\n\n[1]\n" + GOOD
    target = tmp_path / "d.jsonl"
    target.write_bytes(data)
    from_path = [(ln.number, problems(ln), line_bytes(ln)) for ln in read_jsonl_path(target)]
    from_bytes = [(ln.number, problems(ln), line_bytes(ln)) for ln in lines_of(data)]
    assert from_path == from_bytes
    assert b"".join(b for _, _, b in from_path) == data


def test_two_lone_surrogates_point_at_the_first() -> None:
    raw = b'{"messages": [{"role": "user", "content": "a\\udc01 b"}, {"role": "assistant", "content": "c\\ud800"}]}'
    (line,) = lines_of(raw)
    assert problems(line) == ["invalid-json"]
    assert line.problems[0].column == raw.index(b"\\udc01") + 1
    assert "\\udc01" in line.problems[0].message
    # A valid pair before the lone one is skipped over.
    raw = b'{"a": "\\ud83d\\ude00", "b": "\\ud800x"}'
    (line,) = lines_of(raw)
    assert line.problems[0].column == raw.index(b"\\ud800x") + 1


def test_huge_integer_gets_its_own_diagnostic_and_reading_goes_on() -> None:
    digits = b"9" * 5000
    got = lines_of(GOOD + b"\n" + b'{"messages": [], "n": ' + digits + b"}\n" + GOOD + b"\n")
    assert [problems(x) for x in got] == [[], ["invalid-json"], []]
    problem = got[1].problems[0]
    assert "5000 digits" in problem.message and "string" in problem.message
    assert problem.column == len(b'{"messages": [], "n": ') + 1
    assert got[2].record is not None
