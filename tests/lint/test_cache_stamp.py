"""The lint cache is keyed by the linter's own code too, so an edited rule never serves stale results."""

from __future__ import annotations

from pathlib import Path

import pytest

from intone.lint import cache as cache_module
from intone.lint.cache import Cache
from intone.lint.engine import FileReport


def test_code_change_misses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = FileReport("x.jsonl", [], n_lines=3, n_records=3)
    Cache(tmp_path, {"a": 1}).put("digest", report)
    assert Cache(tmp_path, {"a": 1}).get("x.jsonl", "digest") is not None
    monkeypatch.setattr(cache_module, "_code_stamp", lambda: [("lint/rules/style_drift.py", 1, 2)])
    assert Cache(tmp_path, {"a": 1}).get("x.jsonl", "digest") is None


def test_stamp_lists_rule_sources() -> None:
    names = [name for name, _size, _mtime in cache_module._code_stamp()]
    assert "lint/rules/structure.py" in names and "schemas/jsonl.py" in names
