"""Hostile input from the adversarial pass (issue 10): each command names the problem and goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._util import CLEAN, intone

HUGE = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}], "n": ' + "7" * 5000 + "}"


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A clean file with one line holding a 5,000-digit integer (line 3)."""
    lines = [json.dumps(r) for r in CLEAN]
    lines.insert(2, HUGE)
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_huge_integer_lint_and_stats_go_on(huge: Path) -> None:
    done = intone("lint", str(huge), "--format", "json", cwd=huge.parent)
    assert done.returncode == 1
    found = json.loads(done.stdout)["diagnostics"]
    assert [(d["line"], d["name"]) for d in found] == [(3, "invalid-json")]
    assert "5000 digits" in found[0]["message"]
    done = intone("stats", str(huge), cwd=huge.parent)
    assert done.returncode == 0
    assert f"{len(CLEAN)} records (1 invalid line" in done.stdout


def test_huge_integer_convert_and_export_go_on(huge: Path) -> None:
    out = huge.parent / "converted.jsonl"
    done = intone("convert", str(huge), str(out), cwd=huge.parent)
    assert done.returncode == 1
    assert f"{huge}:3" in done.stderr and "5000 digits" in done.stderr
    assert len(out.read_text().splitlines()) == len(CLEAN)
    done = intone("export", str(huge), "--to", "splits", cwd=huge.parent)
    assert done.returncode == 1 and ":3:" in done.stderr
    done = intone("export", str(huge), "--to", "splits", "--force", cwd=huge.parent)
    assert done.returncode == 0 and f"exported {len(CLEAN)} records" in done.stdout


def test_huge_integer_train_preflight_names_the_line(huge: Path) -> None:
    done = intone("train", str(huge), "--out", str(huge.parent / "run"),
                  cwd=huge.parent)
    assert done.returncode in (1, 2)
    assert ":3:" in done.stderr and "5000 digits" in done.stderr
    assert not (huge.parent / "run").exists()


def test_sample_prompts_skips_bad_lines_with_a_warning(tmp_path: Path) -> None:
    from intone.train.sample import read_prompts

    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'{"prompt": "first"}\n'
        + HUGE.encode() + b"\n"
        + b'{"prompt": "bad \xff byte"}\n'
        + b'{"prompt": "lone \\ud800"}\n'
        + b'{"messages": [{"role": "user", "content": "last"}, {"role": "assistant", "content": "x"}]}\n'
    )
    warnings: list[str] = []
    prompts = read_prompts(path, warn=warnings.append)
    assert [turns[-1][1] for _, turns in prompts] == ["first", "last"]
    assert [w.split(": ")[0] for w in warnings] == [f"skipped {path}:{n}" for n in (2, 3, 4)]
    assert "5000 digits" in warnings[0] and "UTF-8" in warnings[1] and "surrogate" in warnings[2]


def test_sample_prompts_with_nothing_usable_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\xff\xfe\n")
    done = intone("sample", str(tmp_path / "run"), "--prompts", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert str(path) in done.stderr
