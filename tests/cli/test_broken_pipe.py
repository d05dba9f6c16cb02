"""A reader that stops early (`intone lint ... | head -1`) keeps the exit code, and prints no noise."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli._util import CLEAN, INTONE, write_jsonl

NOISE = ("Traceback", "Exception ignored", "BrokenPipeError", "internal error")


def _piped(args: list[str], cwd: Path, *, read_first_line: bool = True) -> tuple[int, str]:
    """Run intone with stdout to a pipe; read one line (or none), close the pipe, wait."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("INTONE_DEBUG", None)
    proc = subprocess.Popen([INTONE, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if read_first_line:
        assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), err


@pytest.fixture
def many_errors(tmp_path: Path) -> Path:
    # far more output than a pipe holds (64 KiB), so intone is still writing when the reader goes
    (tmp_path / "bad.jsonl").write_text("{nope\n" * 4000, "utf-8")
    return tmp_path


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_lint_keeps_exit_1_when_the_reader_stops(many_errors: Path, fmt: str) -> None:
    code, err = _piped(["lint", "--no-cache", "--format", fmt, "bad.jsonl"], many_errors)
    assert code == 1, err
    assert not any(n in err for n in NOISE), err


def test_lint_exit_zero_is_kept_too(many_errors: Path) -> None:
    code, err = _piped(["lint", "--no-cache", "--exit-zero", "bad.jsonl"], many_errors)
    assert code == 0 and not any(n in err for n in NOISE), err


def test_lint_usage_error_is_still_2(tmp_path: Path) -> None:
    code, err = _piped(["lint", "missing.jsonl"], tmp_path, read_first_line=False)
    assert code == 2 and "missing.jsonl" in err and not any(n in err for n in NOISE)


@pytest.mark.parametrize("args", [["rules"], ["rules", "--format", "json"], ["stats", "d.jsonl"],
                                  ["stats", "--format", "json", "d.jsonl"]])
def test_rules_and_stats_exit_0_quietly_when_the_reader_is_gone(tmp_path: Path, args: list[str]) -> None:
    write_jsonl(tmp_path / "d.jsonl", CLEAN * 5)
    code, err = _piped(args, tmp_path, read_first_line=False)  # closed before intone writes a byte
    assert code == 0, err
    assert not any(n in err for n in NOISE), err
