"""Content-hash cache of lint results in `.intone_cache/` (git-ignored by its own .gitignore)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import intone
from intone.lint.diagnostic import Diagnostic
from intone.lint.engine import FileReport

CACHE_DIR = ".intone_cache"


def file_digest(path: str | Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


class Cache:
    def __init__(self, root: Path, fingerprint: dict[str, Any]) -> None:
        self.folder = root / CACHE_DIR
        blob = json.dumps(
            {"version": intone.__version__, "code": _code_stamp(), **fingerprint}, sort_keys=True, default=str
        )
        self._salt = hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()

    def _entry(self, digest: str) -> Path:
        return self.folder / f"{digest}-{self._salt}.json"

    def get(self, path: str, digest: str) -> FileReport | None:
        try:
            data = json.loads(self._entry(digest).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        try:
            diags = [
                Diagnostic.from_dict(d, fixable=d.get("fixable", False), details=tuple(d.get("details", ())))
                for d in data["diagnostics"]
            ]
            diags = [_with_path(d, path) for d in diags]
            return FileReport(path, diags, data["n_lines"], data["n_records"])
        except (KeyError, TypeError):
            return None

    def put(self, digest: str, report: FileReport) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by intone.\n*\n")
            payload = {
                "n_lines": report.n_lines,
                "n_records": report.n_records,
                "diagnostics": [
                    {**d.to_dict(), "fixable": d.fixable, "details": list(d.details)}
                    for d in report.diagnostics
                ],
            }
            tmp = self._entry(digest).with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(payload), "utf-8")
            os.replace(tmp, self._entry(digest))
        except OSError:
            pass  # a cache that cannot be written is only slower


def _code_stamp() -> list[tuple[str, int, int]]:
    """Size and mtime of the linter's own sources: an edited rule (in a dev checkout) misses the cache."""
    package = Path(intone.__file__).parent
    stamp = []
    for folder in ("lint", "schemas"):
        for source in sorted((package / folder).rglob("*.py")):
            info = source.stat()
            stamp.append((source.relative_to(package).as_posix(), info.st_size, info.st_mtime_ns))
    return stamp


def _with_path(d: Diagnostic, path: str) -> Diagnostic:
    return d if d.path == path else replace(d, path=path)
