"""Paths `intone author` cannot edit: one line naming the path and what to do, exit 2, no traceback.

The command runs in a subprocess with a timeout: a regression would start the app (and, on a
FIFO, block forever behind a blank screen) instead of refusing.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from intone.authoring import paths
from intone.authoring.app import make_app
from intone.errors import UsageError

INTONE = "import sys; from intone.cli import main; sys.exit(main(sys.argv[1:]))"


def author(path: Path | str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", INTONE, "author", str(path)],
        capture_output=True,
        check=False,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=15,
        **kwargs,
    )


def refused(done: subprocess.CompletedProcess[str], path: Path | str, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("intone: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and str(path) in done.stderr
    for word in words:
        assert word in done.stderr


@pytest.fixture
def inside(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_fifo_is_refused_without_being_opened(inside: Path) -> None:
    os.mkfifo("p")
    refused(author("p"), "p", "named pipe (FIFO)", "not a file")


def test_a_symlink_loop_is_refused(inside: Path) -> None:
    os.symlink("a", "b")
    os.symlink("b", "a")
    refused(author("a"), "a", "symbolic link loop")


def test_a_dangling_symlink_is_refused(inside: Path) -> None:
    os.symlink("gone.jsonl", "link.jsonl")
    refused(author("link.jsonl"), "link.jsonl", "gone.jsonl, which does not exist")


@pytest.mark.parametrize("target", ["folder", "/dev/null"])
def test_a_folder_or_a_device_is_refused(inside: Path, target: str) -> None:
    (inside / "folder").mkdir()
    refused(author(target), target, "is a folder" if target == "folder" else "a device")


def test_a_new_file_in_a_missing_folder_is_refused(inside: Path) -> None:
    refused(author("nope/x.jsonl"), "nope/x.jsonl", "folder nope does not exist")


def test_an_unreadable_file_is_refused(sample: Path, monkeypatch) -> None:
    """Tests run as root here, and root reads a chmod 000 file: simulate the refusal of open()."""
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == sample:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(paths, "open", deny, raising=False)
    with pytest.raises(UsageError) as error:
        make_app(sample)
    assert str(error.value) == f"{sample}: permission denied; make it readable (chmod u+r) or open a copy"


NOBODY = {"user": 65534, "group": 65534, "extra_groups": []}


def test_a_chmod_000_file_is_refused_for_a_user_who_cannot_read_it() -> None:
    """The real thing: as root the command runs as `nobody`, otherwise as this user."""
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        path = folder / "locked.jsonl"
        path.write_text('{"messages": []}\n')
        path.chmod(0)
        as_root = os.geteuid() == 0
        try:
            done = author(path, **(NOBODY if as_root else {}))
        except PermissionError:  # e.g. this Python lives under /root
            pytest.skip("the nobody user cannot run this Python")
        if as_root and "No module named" in done.stderr:
            pytest.skip("the nobody user cannot read this checkout")
        refused(done, path, "permission denied", "chmod u+r")
    finally:
        for entry in folder.iterdir():
            entry.chmod(stat.S_IRUSR | stat.S_IWUSR)
            entry.unlink()
        folder.rmdir()
