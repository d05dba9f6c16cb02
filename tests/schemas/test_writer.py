"""The atomic writer: temp file in the same folder, fsync, rename; never a half-written target."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from intone.schemas import jsonl
from intone.schemas.jsonl import write_jsonl_atomic

RECORD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}


def test_writes_records_with_lf_and_raw_bytes_verbatim(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    write_jsonl_atomic(target, [RECORD, b"{broken\r\n", {"x": "é"}])
    assert target.read_bytes() == (
        b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'
        b"{broken\r\n"
        + '{"x": "é"}\n'.encode()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_failure_mid_iteration_leaves_original_untouched(tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"original bytes\n")

    def exploding() -> Iterator[dict]:
        yield RECORD
        yield RECORD
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_jsonl_atomic(target, exploding())
    assert target.read_bytes() == b"original bytes\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_unserializable_record_leaves_original_untouched(tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"keep me\n")
    with pytest.raises(TypeError):
        write_jsonl_atomic(target, [RECORD, {"bad": object()}])
    assert target.read_bytes() == b"keep me\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_failure_at_rename_leaves_original_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"keep me\n")

    def failing_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonl.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_jsonl_atomic(target, [RECORD])
    assert target.read_bytes() == b"keep me\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_temp_file_is_in_the_target_folder_and_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "data.jsonl"
    target.parent.mkdir()
    seen: list[tuple[str, str]] = []
    synced: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_replace(src: str, dst: object) -> None:
        seen.append((str(src), str(dst)))
        assert synced, "renamed before fsync"
        real_replace(src, dst)

    def spy_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(jsonl.os, "replace", spy_replace)
    monkeypatch.setattr(jsonl.os, "fsync", spy_fsync)
    write_jsonl_atomic(target, [RECORD])
    (src, dst), = seen
    assert Path(src).parent == target.parent and dst == str(target)
    assert target.read_bytes().count(b"\n") == 1


def test_keeps_file_mode_of_the_original(tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"x\n")
    target.chmod(0o600)
    write_jsonl_atomic(target, [RECORD])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_relative_path_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_jsonl_atomic("rel.jsonl", [RECORD])
    assert (tmp_path / "rel.jsonl").read_bytes().endswith(b"}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["rel.jsonl"]


def test_writes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    """Issue 10.6: a link (DVC, git-annex, shared data) stays a link; the real file is written."""
    (tmp_path / "store").mkdir()
    (tmp_path / "work").mkdir()
    real = tmp_path / "store" / "data.jsonl"
    real.write_bytes(b"old\n")
    os.chmod(real, 0o640)
    middle = tmp_path / "store" / "current.jsonl"
    middle.symlink_to("data.jsonl")  # a chain of two relative links
    link = tmp_path / "work" / "data.jsonl"
    link.symlink_to("../store/current.jsonl")
    write_jsonl_atomic(link, [b"new\n"])
    assert link.is_symlink() and middle.is_symlink()
    assert os.readlink(link) == "../store/current.jsonl"
    assert real.read_bytes() == b"new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["current.jsonl", "data.jsonl"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["data.jsonl"]


def test_dangling_link_creates_its_target_and_a_loop_is_named(tmp_path: Path) -> None:
    link = tmp_path / "new.jsonl"
    link.symlink_to("made.jsonl")
    write_jsonl_atomic(link, [b"x\n"])
    assert link.is_symlink() and (tmp_path / "made.jsonl").read_bytes() == b"x\n"
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError) as caught:
        write_jsonl_atomic(tmp_path / "a", [b"x\n"])
    assert caught.value.filename == str(tmp_path / "a") and "loop" in str(caught.value)


def test_errors_name_the_users_path_not_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "adir.jsonl"
    folder.mkdir()
    with pytest.raises(OSError) as caught:
        write_jsonl_atomic(folder, [b"x\n"])
    assert caught.value.filename == str(folder) and ".tmp" not in str(caught.value)
    target = tmp_path / "d.jsonl"
    target.write_bytes(b"keep\n")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        write_jsonl_atomic(target, [b"x\n"])
    assert caught.value.filename == str(target) and "No space" in str(caught.value)
    assert target.read_bytes() == b"keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.jsonl", "d.jsonl"]
