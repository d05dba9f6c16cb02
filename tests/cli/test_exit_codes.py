"""Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/config/IO errors; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._util import CLEAN, STRUCTURAL, intone, rec, write_jsonl


def test_clean_file_exits_0(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "clean.jsonl", CLEAN)
    done = intone("lint", "clean.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stdout


def test_folder_is_searched_for_jsonl(tmp_path: Path) -> None:
    (tmp_path / "sets" / "deep").mkdir(parents=True)
    write_jsonl(tmp_path / "sets" / "a.jsonl", CLEAN)
    (tmp_path / "sets" / "deep" / "b.jsonl").write_text("{nope\n", "utf-8")
    (tmp_path / "sets" / "notes.txt").write_text("{nope\n", "utf-8")
    done = intone("lint", "--select", STRUCTURAL, "sets", cwd=tmp_path)
    assert done.returncode == 1
    assert "b.jsonl:1:" in done.stdout and "notes.txt" not in done.stdout


@pytest.fixture
def warn_only(tmp_path: Path) -> Path:
    path = tmp_path / "warn.jsonl"
    path.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n\n', "utf-8"
    )
    return path


@pytest.mark.parametrize(("extra", "code"), [
    ((), 1),  # default --fail-on warning
    (("--fail-on", "warning"), 1),
    (("--fail-on", "info"), 1),
    (("--fail-on", "error"), 0),
    (("--exit-zero",), 0),
])
def test_fail_on_with_a_warning(warn_only: Path, extra: tuple[str, ...], code: int) -> None:
    done = intone("lint", "--select", STRUCTURAL, *extra, warn_only.name, cwd=warn_only.parent)
    assert done.returncode == code, done.stdout
    assert "blank-line" in done.stdout  # still reported, whatever the exit code


@pytest.mark.parametrize(("extra", "code"), [
    (("--fail-on", "error"), 1),
    (("--fail-on", "info"), 1),
    (("--exit-zero",), 0),
    (("--exit-zero", "--fail-on", "info"), 0),
])
def test_fail_on_with_an_error(tmp_path: Path, extra: tuple[str, ...], code: int) -> None:
    write_jsonl(tmp_path / "err.jsonl", [rec("hi", "")])
    done = intone("lint", "--select", STRUCTURAL, *extra, "err.jsonl", cwd=tmp_path)
    assert done.returncode == code
    assert "empty-content" in done.stdout


def test_fail_on_from_config_and_cli_overrides_it(warn_only: Path) -> None:
    (warn_only.parent / "intone.toml").write_text('fail-on = "error"\n', "utf-8")
    assert intone("lint", "--select", STRUCTURAL, warn_only.name, cwd=warn_only.parent).returncode == 0
    assert intone("lint", "--select", STRUCTURAL, "--fail-on", "warning", warn_only.name, cwd=warn_only.parent).returncode == 1


@pytest.mark.parametrize(("args", "needle"), [
    (("lint", "--no-such-flag", "x.jsonl"), "--no-such-flag"),
    (("lint", "missing.jsonl"), "missing.jsonl"),
    (("lint", "--select", "no-such-rule", "x.jsonl"), "no-such-rule"),
    (("lint", "--ignore", "IN999", "x.jsonl"), "IN999"),
    (("lint", "--format", "xml", "x.jsonl"), "xml"),
    (("lint", "--fail-on", "fatal", "x.jsonl"), "fatal"),
    (("lint",), "PATH"),
    (("lint", "--config", "nope.toml", "x.jsonl"), "nope.toml"),
    (("no-such-command",), "no-such-command"),
    (("rule", "no-such-rule"), "no-such-rule"),
    ((), "usage"),
])
def test_usage_errors_exit_2_and_say_what(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    write_jsonl(tmp_path / "x.jsonl", CLEAN)
    done = intone(*args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert needle in done.stderr + done.stdout


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = intone("lint", "empty", cwd=tmp_path)
    assert done.returncode == 2 and "no .jsonl files" in done.stderr


def test_broken_symlink_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "deleted.jsonl")
    done = intone("lint", "gone.jsonl", cwd=tmp_path)
    assert done.returncode == 2 and "gone.jsonl" in done.stderr


def test_folder_named_like_a_file_is_searched(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    write_jsonl(tmp_path / "dir.jsonl" / "inner.jsonl", CLEAN)
    done = intone("lint", "--select", STRUCTURAL, "dir.jsonl", cwd=tmp_path)
    assert done.returncode == 0 and "1 file" in done.stdout


def test_malformed_file_every_bad_line_reported_at_its_line(tmp_path: Path) -> None:
    lines = [
        b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}',
        b'{"messages": [{"role": "user", "content": "hi"}',
        b"[1, 2, 3]",
        b'{"messages": [{"role": "user", "content": "caf\xe9"}, {"role": "assistant", "content": "x"}]}',
        b'{"messages": [{"role": "robot", "content": "beep"}, {"role": "assistant", "content": "x"}]}',
        b'{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "x"}]}',
        b"[" * 50_000,
        b'{"messages": [{"role": "user", "content": "\\udc00"}, {"role": "assistant", "content": "x"}]}',
        b'{"messages": [{"role": "user", "content": "bye"}, {"role": "assistant", "content": "Fair winds."}]}',
    ]
    (tmp_path / "bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    done = intone("lint", "--format", "json", "--select", STRUCTURAL, "bad.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    import json

    found = {(d["line"], d["name"]) for d in json.loads(done.stdout)["diagnostics"]}
    assert found == {
        (2, "invalid-json"), (3, "not-an-object"), (4, "invalid-utf8"), (5, "unknown-role"),
        (6, "schema-error"), (7, "invalid-json"), (8, "invalid-json"),
    }


def test_unloadable_tokenizer_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n')
    done = intone("lint", "--no-cache", "--tokenizer", str(tmp_path / "missing-model"), str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert "--tokenizer" in done.stderr and "Traceback" not in done.stderr
