"""Saving through a symlink writes its target (issue 10.6): `lint --fix` and the editor's save."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli._util import intone


def _linked(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "store").mkdir()
    (tmp_path / "work").mkdir()
    real = tmp_path / "store" / "data.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"q{i} "}, {"role": "assistant", "content": f"Answer {i}."}]}
            for i in range(3)]
    real.write_text("".join(json.dumps(r) + "\n" for r in rows))
    link = tmp_path / "work" / "data.jsonl"
    link.symlink_to(os.path.relpath(real, link.parent))
    return real, link


def test_lint_fix_writes_through_the_link(tmp_path: Path) -> None:
    real, link = _linked(tmp_path)
    done = intone("lint", "--fix", "--no-cache", "--select", "whitespace", str(link), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink()
    assert [json.loads(x)["messages"][0]["content"] for x in real.read_text().splitlines()] == ["q0", "q1", "q2"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir() if not p.name.startswith(".intone")) == ["data.jsonl"]


def test_author_save_writes_through_the_link(tmp_path: Path) -> None:
    from intone.authoring.model import Dataset

    real, link = _linked(tmp_path)
    dataset = Dataset.load(link)
    row = dataset.rows[0]
    data = json.loads(json.dumps(row.data))
    data["messages"][1]["content"] = "Changed."
    dataset.replace(0, data)
    dataset.save()
    assert link.is_symlink()
    assert json.loads(real.read_text().splitlines()[0])["messages"][1]["content"] == "Changed."
    assert not dataset.changed_on_disk()
