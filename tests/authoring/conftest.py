"""Fixtures for the authoring tests: a small dataset with a broken line, CRLF-free, known bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of data/sample.jsonl: 5 lines, line 3 is broken JSON, line 2 has an unknown key."""
    target = tmp_path / "sample.jsonl"
    shutil.copyfile(DATA / "sample.jsonl", target)
    return target
