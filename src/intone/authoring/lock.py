"""One `intone author` per file: an advisory lock held for the app's lifetime.

Two editors of one file would share one journal (each overwriting the other's, and a save by
one deleting the other's unsaved edits), so the second is refused. The lock is an `flock` on
`.NAME.intone-lock` beside the file (its real path, so a symlink and its target are one file):
the kernel drops it when the process ends however it ends, so a crash or `kill -9` never
leaves a file locked. The pid written inside is only for the message. No textual here.
"""

from __future__ import annotations

import os
from pathlib import Path

from intone.errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock; editing is not locked there
    fcntl = None  # type: ignore[assignment]


class FileInUse(UsageError):
    """Another `intone author` has the file open (exit 2 with this message)."""


def lock_path(dataset_path: Path) -> Path:
    real = Path(os.path.realpath(dataset_path))
    return real.with_name(f".{real.name}.intone-lock")


class EditLock:
    """Held while the app has `path` open; `release` (or process exit) lets the next one in."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, dataset_path: str | os.PathLike[str]) -> EditLock | None:
        """Take the lock, or raise FileInUse. None where no lock can be taken at all (no flock,
        or a folder this user cannot write in, where the journal and saving fail anyway)."""
        if fcntl is None:
            return None
        target = lock_path(Path(dataset_path))
        for _attempt in range(10):
            try:
                fd = os.open(target, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (process {holder})" if holder else ""
                raise FileInUse(
                    f"{dataset_path}: another intone author has it open{who}; close that one "
                    "first (two editors of one file would overwrite each other's unsaved edits)"
                ) from None
            # The holder before us may have unlinked the file as it released it: then this
            # lock is on a file nobody else will open. Retry on the file now at that path.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(target))
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return cls(target, fd)
            os.close(fd)
        return None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)  # while still locked, so no one else's lock file is removed
        except OSError:
            pass
        os.close(fd)

    def __del__(self) -> None:  # an app made but never run
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
