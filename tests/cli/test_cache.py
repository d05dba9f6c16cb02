"""The content-hash cache in `.intone_cache/` under the config root (or the current folder)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli._util import STRUCTURAL, intone

DATA = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'
    b"\n"
    b'{"messages": [{"role": "user", "content": "hi"}\n'
)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".intone_cache/*.json"))


def test_second_run_is_served_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(DATA)
    first = intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert first.returncode == 1
    (entry,) = entries(tmp_path)
    assert (tmp_path / ".intone_cache" / ".gitignore").read_text().strip().endswith("*")
    second = intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert (second.returncode, second.stdout, second.stderr) == (first.returncode, first.stdout, first.stderr)
    assert entries(tmp_path) == [entry]

    # Prove the answer comes from the entry: doctor it and see the doctored message.
    payload = json.loads(entry.read_text("utf-8"))
    assert {d["name"] for d in payload["diagnostics"]} == {"blank-line", "invalid-json"}
    for d in payload["diagnostics"]:
        d["message"] = "served from cache"
    entry.write_text(json.dumps(payload), "utf-8")
    third = intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert third.stdout.count("served from cache") == 2
    assert "served from cache" not in intone("lint", "--no-cache", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path).stdout


def test_changed_file_or_settings_miss_the_cache(tmp_path: Path) -> None:
    target = tmp_path / "d.jsonl"
    target.write_bytes(DATA)
    intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    target.write_bytes(DATA.replace(b"\n\n", b"\n"))  # the blank line is gone
    done = intone("lint", "--select", STRUCTURAL, "--format", "json", "d.jsonl", cwd=tmp_path)
    assert [d["name"] for d in json.loads(done.stdout)["diagnostics"]] == ["invalid-json"]
    done = intone("lint", "--select", "blank-line", "--format", "json", "d.jsonl", cwd=tmp_path)
    assert json.loads(done.stdout)["diagnostics"] == []
    assert len(entries(tmp_path)) == 3


def test_same_content_under_another_name_reports_its_own_path(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(DATA)
    (tmp_path / "b.jsonl").write_bytes(DATA)
    intone("lint", "--select", STRUCTURAL, "a.jsonl", cwd=tmp_path)
    done = intone("lint", "--select", STRUCTURAL, "--format", "json", "b.jsonl", cwd=tmp_path)
    assert {d["path"] for d in json.loads(done.stdout)["diagnostics"]} == {"b.jsonl"}


def test_cache_lives_under_the_config_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "intone.toml").write_text('select = ["IN1"]\n', "utf-8")
    (project / "data" / "d.jsonl").write_bytes(DATA)
    done = intone("lint", "project/data/d.jsonl", cwd=tmp_path)
    assert done.returncode == 1
    assert len(entries(project)) == 1
    assert not (tmp_path / ".intone_cache").exists() and not (project / "data" / ".intone_cache").exists()


def test_no_cache_flag_and_setting_create_nothing(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(DATA)
    intone("lint", "--no-cache", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert not (tmp_path / ".intone_cache").exists()
    (tmp_path / "intone.toml").write_text("cache = false\n", "utf-8")
    intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert not (tmp_path / ".intone_cache").exists()


def test_cache_folder_is_not_linted(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(DATA)
    intone("lint", "--select", STRUCTURAL, ".", cwd=tmp_path)
    (tmp_path / ".intone_cache" / "stray.jsonl").write_text("{nope\n", "utf-8")
    done = intone("lint", "--select", STRUCTURAL, ".", cwd=tmp_path)
    assert "stray.jsonl" not in done.stdout and "1 file" in done.stdout


def test_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(DATA)
    first = intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    for entry in entries(tmp_path):
        entry.write_text('{"half": ', "utf-8")
    again = intone("lint", "--select", STRUCTURAL, "d.jsonl", cwd=tmp_path)
    assert again.stdout == first.stdout and again.returncode == first.returncode
