"""`intone lint DIR`: an entry that cannot be read is a finding and the rest is still linted;
FIFOs and devices are never opened; version-control, environment and cache folders are skipped."""

from __future__ import annotations

import builtins
import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from intone.cli import main
from tests.cli._util import CLEAN, INTONE, intone, write_jsonl

BAD = "{nope\n"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Like _util.intone, with a short timeout: reading a FIFO would hang forever."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([INTONE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_broken_entries_are_findings_and_the_rest_is_linted(tmp_path: Path) -> None:
    sets = tmp_path / "sets"
    (sets / "deep").mkdir(parents=True)
    write_jsonl(sets / "a.jsonl", CLEAN)
    (sets / "deep" / "b.jsonl").write_text(BAD, "utf-8")
    (sets / "gone.jsonl").symlink_to(tmp_path / "deleted.jsonl")
    (sets / "empty.jsonl").mkdir()  # a folder named like a file, with nothing to lint inside
    (sets / "loop.jsonl").symlink_to("loop.jsonl")
    done = intone("lint", "--no-cache", "--select", "invalid-json", "--format", "json", "sets", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    found = {(d["path"], d["name"]): d for d in json.loads(done.stdout)["diagnostics"]}
    assert set(found) == {
        ("sets/deep/b.jsonl", "invalid-json"),
        ("sets/gone.jsonl", "unreadable-file"),
        ("sets/empty.jsonl", "unreadable-file"),
        ("sets/loop.jsonl", "unreadable-file"),
    }
    gone = found[("sets/gone.jsonl", "unreadable-file")]
    assert gone["severity"] == "error" and "deleted.jsonl" in gone["message"]
    assert "does not exist" in gone["message"]
    assert gone["fix"]
    assert "folder" in found[("sets/empty.jsonl", "unreadable-file")]["message"]
    assert json.loads(done.stdout)["summary"]["records"] == len(CLEAN)  # a.jsonl was linted


def test_folder_named_like_a_file_with_jsonl_inside_is_just_searched(tmp_path: Path) -> None:
    (tmp_path / "sets" / "x.jsonl").mkdir(parents=True)
    write_jsonl(tmp_path / "sets" / "x.jsonl" / "inner.jsonl", CLEAN)
    done = intone("lint", "--no-cache", "--select", "invalid-json", "sets", cwd=tmp_path)
    assert done.returncode == 0 and "1 file" in done.stdout, done.stdout


def test_folder_of_only_broken_entries_is_a_finding_not_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "gone.jsonl").symlink_to(tmp_path / "deleted.jsonl")
    done = intone("lint", "--no-cache", "sets", cwd=tmp_path)
    assert done.returncode == 1 and "IN106 unreadable-file" in done.stdout, (done.stdout, done.stderr)


def test_fifo_in_a_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    write_jsonl(tmp_path / "sets" / "a.jsonl", CLEAN)
    os.mkfifo(tmp_path / "sets" / "x.jsonl")
    done = _run("lint", "--no-cache", "--select", "invalid-json", "sets", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sets/x.jsonl" in done.stderr and "FIFO" in done.stderr and "skipped" in done.stderr
    assert "1 file" in done.stdout


def test_named_fifo_is_a_usage_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.jsonl")
    done = _run("lint", "x.jsonl", cwd=tmp_path)
    assert done.returncode == 2 and "x.jsonl" in done.stderr and "FIFO" in done.stderr


@pytest.mark.parametrize("folder", [".git", ".venv", "node_modules", ".intone_cache", "deep/.git"])
def test_vcs_environment_and_cache_folders_are_not_searched(tmp_path: Path, folder: str) -> None:
    write_jsonl(tmp_path / "a.jsonl", CLEAN)
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "stray.jsonl").write_text(BAD, "utf-8")
    done = intone("lint", "--no-cache", "--select", "invalid-json", ".", cwd=tmp_path)
    assert done.returncode == 0 and "stray.jsonl" not in done.stdout and "1 file" in done.stdout
    # ... but such a folder named on the command line is linted, as ruff does
    assert intone("lint", "--no-cache", "--select", "invalid-json", folder, cwd=tmp_path).returncode == 1


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch):
    """Tests run as root, where chmod 000 still reads: make open() refuse files named secret*."""
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.basename(os.fspath(file)).startswith("secret"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


@pytest.mark.parametrize("fix", [False, True])
def test_unreadable_file_in_a_folder_is_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], unreadable, fix: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "bad.jsonl").write_text(BAD, "utf-8")
    (tmp_path / "sets" / "secret.jsonl").write_text(BAD, "utf-8")
    args = ["lint", "--select", "invalid-json", "sets"] + (["--fix"] if fix else [])
    assert main(args) == 1  # with the cache on: its digest reads the file too
    out = capsys.readouterr().out
    assert "sets/bad.jsonl:1:2: IN100" in out
    assert "sets/secret.jsonl: IN106 unreadable-file cannot be read: Permission denied" in out
    assert "chmod" in out


def test_unreadable_file_named_on_the_command_line_is_still_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unreadable
) -> None:
    (tmp_path / "secret.jsonl").write_text(BAD, "utf-8")
    assert main(["lint", "--no-cache", str(tmp_path / "secret.jsonl")]) == 2
    assert "secret.jsonl: Permission denied" in capsys.readouterr().err
