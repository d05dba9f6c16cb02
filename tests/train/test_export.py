"""`intone export`: seeded, leakage-free splits in the messages format."""

from __future__ import annotations

import json
import os

from intone.cli import main
from tests.train.conftest import write_jsonl


def read(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def records(n):
    out = []
    for i in range(n):
        prompt = f"Question {i % 15}?"  # 15 distinct prompts, several answers each
        if i % 7 == 0:
            prompt = "  question " + f"{i % 15}?".upper()  # same prompt, other case and spacing
        out.append({"id": i, "tags": ["t"], "messages": [{"role": "user", "content": prompt},
                                                         {"role": "assistant", "content": f"Answer {i}."}]})
    return out


def users(rows):
    return {" ".join(m["content"].lower().split()) for r in rows for m in r["messages"] if m["role"] == "user"}


def test_splits_are_leakage_free_seeded_and_complete(tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", records(60))
    out = tmp_path / "out"
    assert main(["export", str(data), "--to", str(out), "--valid-fraction", "0.2", "--test-fraction", "0.2",
                 "--seed", "7"]) == 0
    train, valid, test = (read(out / f"{s}.jsonl") for s in ("train", "valid", "test"))
    assert len(train) + len(valid) + len(test) == 60
    assert valid and test
    assert not users(train) & users(valid) and not users(train) & users(test) and not users(valid) & users(test)
    assert all("messages" in r and {"id", "tags"} <= set(r) for r in train + valid + test)  # every field kept
    first = (out / "valid.jsonl").read_bytes()
    assert main(["export", str(data), "--to", str(tmp_path / "again"), "--valid-fraction", "0.2",
                 "--test-fraction", "0.2", "--seed", "7"]) == 0
    assert (tmp_path / "again" / "valid.jsonl").read_bytes() == first
    assert main(["export", str(data), "--to", str(tmp_path / "other"), "--valid-fraction", "0.2",
                 "--test-fraction", "0.2", "--seed", "8"]) == 0
    assert (tmp_path / "other" / "valid.jsonl").read_bytes() != first
    assert "exported 60 records" in capsys.readouterr().out


def test_no_test_file_by_default_and_pinned_splits(tmp_path):
    rows = records(20)
    rows[3]["split"] = "valid"
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "out"
    assert main(["export", str(data), "--to", str(out)]) == 0
    assert not (out / "test.jsonl").exists()
    assert rows[3]["messages"] in [r["messages"] for r in read(out / "valid.jsonl")]


def test_conflicting_pins_and_lint_errors_are_refused(tmp_path, capsys):
    rows = records(20)
    rows[0]["split"], rows[15]["split"] = "train", "valid"  # same prompt (i % 15 == 0)
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    assert main(["export", str(data), "--to", str(tmp_path / "o")]) == 2
    assert "pin different splits" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [\n')
    assert main(["export", str(bad), "--to", str(tmp_path / "o2")]) == 1
    assert "--force" in capsys.readouterr().err


def test_export_never_replaces_its_input(tmp_path, capsys):
    """Issue 10.2: `cp data.jsonl valid.jsonl && intone export valid.jsonl --to .` lost the data."""
    rows = records(20)
    for name in ("valid.jsonl", "train.jsonl"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        data = write_jsonl(folder / name, rows)
        before = data.read_bytes()
        assert main(["export", str(data), "--to", str(folder)]) == 2
        assert "is the input" in capsys.readouterr().err
        assert main(["export", str(data), "--to", str(folder), "--force"]) == 2  # not even with --force
        assert data.read_bytes() == before
    # Through a symlink and a hard link to the input, too.
    real = write_jsonl(tmp_path / "real.jsonl", rows)
    before = real.read_bytes()
    for kind in ("symlink", "hardlink"):
        out = tmp_path / kind
        out.mkdir()
        (out / "valid.jsonl").symlink_to(real) if kind == "symlink" else os.link(real, out / "valid.jsonl")
        assert main(["export", str(real), "--to", str(out), "--force"]) == 2
        assert "is the input" in capsys.readouterr().err
        assert real.read_bytes() == before


def test_export_refuses_existing_outputs_without_force(tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", records(20))
    out = tmp_path / "o"
    out.mkdir()
    (out / "train.jsonl").write_text("mine\n")
    assert main(["export", str(data), "--to", str(out)]) == 2
    err = capsys.readouterr().err
    assert "train.jsonl" in err and "--force" in err
    assert (out / "train.jsonl").read_text() == "mine\n"
    assert not (out / "valid.jsonl").exists()  # nothing written when refused
    assert main(["export", str(data), "--to", str(out), "--force"]) == 0
    assert len(read(out / "train.jsonl")) + len(read(out / "valid.jsonl")) == 20


def test_splits_keep_every_field(tmp_path):
    rows = records(20)
    for i, row in enumerate(rows):
        row.update(id=f"r{i}", tags=["t", str(i)], notes="n", custom={"k": i})
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "o"
    assert main(["export", str(data), "--to", str(out)]) == 0
    written = read(out / "train.jsonl") + read(out / "valid.jsonl")
    assert sorted(written, key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])


def test_failed_export_leaves_no_empty_folder(tmp_path, monkeypatch):
    from intone.schemas import jsonl

    data = write_jsonl(tmp_path / "d.jsonl", records(20))
    out = tmp_path / "new" / "deeper"

    def full_disk(path, lines):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(jsonl, "write_jsonl_atomic", full_disk)
    assert main(["export", str(data), "--to", str(out)]) == 2
    assert not (tmp_path / "new").exists()
