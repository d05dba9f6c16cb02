"""`intone convert IN OUT`: prompt/completion, ShareGPT and Alpaca into the messages format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from intone.schemas.jsonl import read_jsonl_path

INTONE = str(Path(sys.executable).parent / "intone") if (Path(sys.executable).parent / "intone").exists() else shutil.which("intone")


def convert(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INTONE, "convert", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


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
