"""`intone convert IN OUT`: prompt/completion, ShareGPT and Alpaca into the messages format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from intone.schemas.jsonl import read_jsonl_path

INTONE = str(Path(sys.executable).parent / "intone") if (Path(sys.executable).parent / "intone").exists() else shutil.which("intone")


def convert(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INTONE, "convert", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def records(path: Path) -> list[dict]:
    lines = list(read_jsonl_path(path))
    assert all(ln.record is not None for ln in lines), [ln.problems for ln in lines]
    return [ln.data for ln in lines]


def test_prompt_completion(tmp_path: Path) -> None:
    write(tmp_path / "pc.jsonl", [
        {"prompt": "hi", "completion": "Ahoy!", "id": 1},
        {"prompt": "name?", "completion": "Pim.", "system": "Be a parrot.", "tags": ["intro"]},
    ])
    done = convert("pc.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Converted 2 record(s)" in done.stdout
    assert records(tmp_path / "out.jsonl") == [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}], "id": 1},
        {"messages": [{"role": "system", "content": "Be a parrot."}, {"role": "user", "content": "name?"},
                      {"role": "assistant", "content": "Pim."}], "tags": ["intro"]},
    ]


def test_sharegpt(tmp_path: Path) -> None:
    write(tmp_path / "sg.jsonl", [
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "Ahoy!"},
                           {"from": "human", "value": "and?"}, {"from": "gpt", "value": "Squawk."}]},
        {"system": "Be a parrot.", "conversations": [{"from": "user", "value": "ü?"}, {"from": "assistant", "value": "ü!"}]},
    ])
    done = convert("sg.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, second = records(tmp_path / "out.jsonl")
    assert [(m["role"], m["content"]) for m in first["messages"]] == [
        ("user", "hi"), ("assistant", "Ahoy!"), ("user", "and?"), ("assistant", "Squawk.")]
    assert [(m["role"], m["content"]) for m in second["messages"]] == [
        ("system", "Be a parrot."), ("user", "ü?"), ("assistant", "ü!")]


def test_alpaca(tmp_path: Path) -> None:
    write(tmp_path / "al.jsonl", [
        {"instruction": "Greet me", "input": "", "output": "Ahoy!"},
        {"instruction": "Translate", "input": "bonjour", "output": "hello"},
    ])
    done = convert("al.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["messages"] for r in records(tmp_path / "out.jsonl")] == [
        [{"role": "user", "content": "Greet me"}, {"role": "assistant", "content": "Ahoy!"}],
        [{"role": "user", "content": "Translate\n\nbonjour"}, {"role": "assistant", "content": "hello"}],
    ]


def test_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    source = write(tmp_path / "pc.jsonl", [{"prompt": "hi", "completion": "Ahoy!"}])
    before = source.read_bytes()
    (tmp_path / "sub").mkdir()
    for out in ("pc.jsonl", "./pc.jsonl", "sub/../pc.jsonl"):
        done = convert("pc.jsonl", out, cwd=tmp_path)
        assert done.returncode == 2, done
        assert "refusing to overwrite the input" in done.stderr
        assert "Traceback" not in done.stderr
    (tmp_path / "link.jsonl").symlink_to(source)
    assert convert("pc.jsonl", "link.jsonl", cwd=tmp_path).returncode == 2
    assert source.read_bytes() == before


def test_bad_lines_are_skipped_and_reported_with_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(
        b'{"prompt": "hi", "completion": "Ahoy!"}\n'
        b'{"prompt": "broken"\n'
        b"\n"
        b'{"what": "is this"}\n'
        b'{"conversations": [{"from": "alien", "value": "zzz"}]}\n'
        b'{"prompt": "bye", "completion": "Fair winds."}\n'
        b'{"prompt": 3, "completion": "x"}\n'
    )
    done = convert("mixed.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    err = done.stderr.splitlines()
    assert len(err) == 4, done.stderr
    assert err[0].startswith("mixed.jsonl:2: ") and "skipped" in err[0]
    assert err[1].startswith("mixed.jsonl:4: ") and "unknown record shape" in err[1]
    assert err[2].startswith("mixed.jsonl:5: ") and "alien" in err[2]
    assert err[3].startswith("mixed.jsonl:7: ") and "prompt: expected a string" in err[3]
    assert "4 line(s) skipped" in done.stdout
    assert [r["messages"][0]["content"] for r in records(tmp_path / "out.jsonl")] == ["hi", "bye"]


def test_messages_records_pass_through_with_unknown_keys(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "hi", "name": "Bo"}, {"role": "assistant", "content": "Ahoy!"}],
           "weight": {"nested": [1, 2]}, "id": 123456789012345678901234567890}
    write(tmp_path / "m.jsonl", [row])
    assert convert("m.jsonl", "out.jsonl", cwd=tmp_path).returncode == 0
    assert records(tmp_path / "out.jsonl") == [row]


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    done = convert("nope.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 2
    assert "nope.jsonl" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_total_failure_writes_no_output(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_bytes(b'{"what": 1}\n[1]\n\xff\n')
    done = convert("bad.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert not (tmp_path / "out.jsonl").exists()
    assert "Nothing converted" in done.stdout and "3 line(s) skipped" in done.stdout


def test_many_skipped_lines_are_summarised(tmp_path: Path) -> None:
    rows = [{"prompt": "hi", "completion": "Ahoy!"}] + [{"what": i} for i in range(40)]
    write(tmp_path / "many.jsonl", rows)
    done = convert("many.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    err = done.stderr.splitlines()
    assert len(err) == 6, done.stderr
    assert [e.split(":")[1] for e in err[:5]] == ["2", "3", "4", "5", "6"]
    assert "35 more skipped line(s)" in err[5] and "intone lint many.jsonl" in err[5]
    assert "40 line(s) skipped" in done.stdout


def test_invalid_messages_records_are_not_passed_through(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    write(tmp_path / "m.jsonl", [
        good,
        {"messages": [{"role": "bot", "content": "x"}]},
        {"messages": "not a list"},
        {"messages": [{"role": "user", "content": 3}]},
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": None}]},
    ])
    done = convert("m.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert [e.split(":")[1] for e in done.stderr.splitlines()] == ["2", "3", "4", "5"]
    assert "unknown role 'bot'" in done.stderr
    assert records(tmp_path / "out.jsonl") == [good]


PAIR_SHAPES = [
    ({"input": "hi", "output": "Ahoy!"}, "input-output"),
    ({"question": "hi", "answer": "Ahoy!"}, "question-answer"),
    ({"prompt": "hi", "response": "Ahoy!"}, "prompt-response"),
    ({"query": "hi", "response": "Ahoy!"}, "query-response"),
    ({"Question": "hi", "Answer": "Ahoy!"}, "question-answer"),  # keys case-insensitively
    ({"instruction": "Say", "input": "hi", "output": "Ahoy!"}, "alpaca"),
]


def test_single_turn_pair_shapes(tmp_path: Path) -> None:
    write(tmp_path / "pairs.jsonl", [row for row, _ in PAIR_SHAPES])
    done = convert("pairs.jsonl", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    got = records(tmp_path / "out.jsonl")
    assert [r["messages"][1]["content"] for r in got] == ["Ahoy!"] * len(PAIR_SHAPES)
    assert got[0]["messages"][0] == {"role": "user", "content": "hi"}
    assert got[-1]["messages"][0]["content"] == "Say\n\nhi"  # Alpaca, not input-output
    assert "question-answer" in done.stdout and "alpaca" in done.stdout


def test_json_array_and_csv_inputs(tmp_path: Path) -> None:
    (tmp_path / "arr.json").write_text(json.dumps([{"question": "hi", "answer": "Ahoy!"}, {"bad": 1}]))
    done = convert("arr.json", "a.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert "arr.json: record 2:" in done.stderr
    assert records(tmp_path / "a.jsonl")[0]["messages"][1]["content"] == "Ahoy!"
    (tmp_path / "t.csv").write_text('input,output\nhi,"Ahoy, friend."\n"multi\nline",ok\nx,y,z\n', "utf-8")
    done = convert("t.csv", "c.jsonl", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    got = records(tmp_path / "c.jsonl")
    assert [r["messages"][0]["content"] for r in got] == ["hi", "multi\nline"]
    assert got[0]["messages"][1]["content"] == "Ahoy, friend."
    assert "t.csv:5:" in done.stderr  # the row with a cell too many, by its line in the file


def test_map_names_the_fields(tmp_path: Path) -> None:
    write(tmp_path / "m.jsonl", [{"q": "hi", "a": "Ahoy!", "persona": "Be Pim.", "id": 7}, {"q": "x"}])
    done = convert("m.jsonl", "out.jsonl", "--map", "user=q,assistant=a,system=persona", cwd=tmp_path)
    assert done.returncode == 1
    assert "m.jsonl:2: no field 'a'" in done.stderr
    assert records(tmp_path / "out.jsonl") == [{"messages": [
        {"role": "system", "content": "Be Pim."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Ahoy!"}], "id": 7}]


@pytest.mark.parametrize("mapping", ["user=q,assistant=nope", "user=q", "bot=q,assistant=a", "user=q,user=a"])
def test_bad_map_is_a_usage_error_and_writes_nothing(tmp_path: Path, mapping: str) -> None:
    write(tmp_path / "m.jsonl", [{"q": "hi", "a": "Ahoy!"}])
    done = convert("m.jsonl", "out.jsonl", "--map", mapping, cwd=tmp_path)
    assert done.returncode == 2 and "--map" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_prompt_completion_leftovers_are_reported_and_stripped(tmp_path: Path) -> None:
    rows = [{"prompt": "What is it?\n\n###\n\n", "completion": " A webhook. ###"},
            {"prompt": "And this?\n\n###\n\n", "completion": " A key. END"}]
    write(tmp_path / "pc.jsonl", rows)
    done = convert("pc.jsonl", "kept.jsonl", cwd=tmp_path)
    assert done.returncode == 0
    assert "2 prompts end with the separator" in done.stderr and "--strip-separators" in done.stderr
    assert records(tmp_path / "kept.jsonl")[0]["messages"][1]["content"] == " A webhook. ###"  # kept as written
    done = convert("pc.jsonl", "clean.jsonl", "--strip-separators", cwd=tmp_path)
    assert done.returncode == 0 and "removed" in done.stderr
    got = records(tmp_path / "clean.jsonl")
    assert [m["content"] for r in got for m in r["messages"]] == ["What is it?", "A webhook.", "And this?", "A key."]


def test_lint_points_records_of_another_shape_at_convert(tmp_path: Path) -> None:
    write(tmp_path / "qa.jsonl", [{"question": "hi", "answer": "Ahoy!"}])
    done = subprocess.run([INTONE, "lint", "--no-cache", "--format", "json", "qa.jsonl"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    (found,) = json.loads(done.stdout)["diagnostics"]
    assert found["name"] == "schema-error"
    assert "question-answer records" in found["fix"] and "intone convert qa.jsonl qa.messages.jsonl" in found["fix"]
    # The command it suggests works.
    assert convert("qa.jsonl", "qa.messages.jsonl", cwd=tmp_path).returncode == 0
