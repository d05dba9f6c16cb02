"""What `intone author` can open: a readable regular file, or a new file in an existing folder.

Checked before the screen takes over the terminal, so that a path error is one line and exit 2
(as `intone lint` reports it), never a traceback drawn over the app, and a FIFO is never opened
(the read would block forever, behind a blank screen). No textual here.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from intone.errors import UsageError
from intone.lint.discover import file_kind  # how `intone lint` names a FIFO, device or socket


def check_editable(path: Path) -> None:
    """Raise UsageError saying what is wrong with `path` and what to do; None when it can be edited."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            target = os.readlink(path)
            raise UsageError(
                f"{path}: symbolic link to {target}, which does not exist; create {target} or open "
                "another path"
            ) from None
        if str(path.parent) and not path.parent.is_dir():
            raise UsageError(f"{path}: folder {path.parent} does not exist; create it first") from None
        return  # a new file, created on first save
    except OSError as exc:
        raise UsageError(f"{path}: {_why(exc)}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a folder; give a .jsonl file (it is created on first save if missing)")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path}: {file_kind(mode)}, not a file; save the data to a .jsonl file and open that")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"{path}: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself); point it at a .jsonl file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; make it readable (chmod u+r) or open a copy"
    return f"{exc.strerror or exc}"
