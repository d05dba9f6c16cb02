"""Which files `intone lint PATH...` reads: named files, and the `*.jsonl` entries found in folders.

A named path that cannot be read is a usage error (exit 2). An entry found in a folder that
cannot be read becomes an `unreadable-file` finding, and the walk goes on; FIFOs and devices are
skipped with a warning and never opened.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from intone.errors import UsageError

# Never searched inside a folder (ruff's default excludes): version control, environments, caches.
SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__"})


class Entry(NamedTuple):
    """A path to lint."""

    path: Path
    named: bool
    """Given on the command line; an error reading it is exit 2, not an unreadable-file finding."""
    error: OSError | None = None
    """Why an entry found in a folder cannot be read (reported as unreadable-file)."""


def collect_paths(paths: Sequence[str]) -> list[Entry]:
    """Each PATH that is a file, and every `*.jsonl` entry found in each PATH that is a folder."""
    found: list[Entry] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_search(path))
            continue
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            if path.is_symlink():
                target = os.readlink(path)
                raise UsageError(f"{raw}: symbolic link to {target}, which does not exist") from None
            raise UsageError(f"{raw}: no such file or folder") from None
        except OSError as exc:
            raise UsageError(f"{raw}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):  # a FIFO would block the read forever
            kind = file_kind(mode)
            raise UsageError(f"{raw}: {kind}, not a file; save the data to a .jsonl file and lint that")
        found.append(Entry(path, named=True))
    return found


def _search(folder: Path) -> list[Entry]:
    """The `*.jsonl` entries under `folder`, sorted; FIFOs and devices skipped (never opened)."""
    from intone.lint.cache import CACHE_DIR
    from intone.lint.printable import printable

    skipped = SKIPPED_FOLDERS | {CACHE_DIR}
    found: list[Entry] = []
    named_like_files: list[Path] = []

    def unlistable(exc: OSError) -> None:
        found.append(Entry(Path(exc.filename), named=False, error=exc))

    for top, folders, names in os.walk(folder, onerror=unlistable):  # linked folders are not followed
        folders[:] = [name for name in folders if name not in skipped]
        named_like_files.extend(
            Path(top, name)
            for name in folders
            if name.endswith(".jsonl") and not Path(top, name).is_symlink()
        )
        for name in names:
            if not name.endswith(".jsonl"):
                continue
            path = Path(top, name)
            try:
                mode = path.stat().st_mode
            except OSError as exc:  # a dangling link, a link loop
                found.append(Entry(path, named=False, error=exc))
                continue
            if stat.S_ISREG(mode):
                found.append(Entry(path, named=False))
            else:
                shown = printable(str(path))
                print(f"intone: warning: {shown}: {file_kind(mode)}, not a file; skipped", file=sys.stderr)
    for path in named_like_files:  # a folder `x.jsonl` with nothing to lint inside is a finding
        if not any(path in entry.path.parents for entry in found):
            error = IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
            found.append(Entry(path, named=False, error=error))
    return sorted(found, key=lambda entry: entry.path)


def file_kind(mode: int) -> str:
    """How a non-regular file is named in messages ("a named pipe (FIFO)", "a device", ...)."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
