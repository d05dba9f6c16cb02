"""A large file is scanned in two halves on two cores; the report equals the one-pass report."""

from __future__ import annotations

import json
import random
import time
from itertools import pairwise
from pathlib import Path

import pytest

from intone.config import Settings
from intone.lint import engine
from intone.lint.engine import Linter


def _file(tmp_path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    lines: list[bytes] = []
    for i in range(400):
        kind = rng.random()
        answer = rng.choice(["Ahoy!", "Aye, the sea is grey.", " trailing ", "Fair winds, friend."]) * rng.randint(1, 4)
        record = {"messages": [{"role": "user", "content": f"q{rng.randint(0, 60)}"},
                               {"role": "assistant", "content": answer}]}
        body = json.dumps(record).encode()
        if kind < 0.05:
            body = b'{"messages": ['  # unparseable
        elif kind < 0.08:
            body = b""
        ending = b"\r\n" if rng.random() < 0.1 else b"\n"
        lines.append(body + ending)
    path = tmp_path / f"d{seed}.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"".join(lines))
    return path


def _one_pass_then_pieces(linter: Linter, path: Path, monkeypatch: pytest.MonkeyPatch):
    """The report of one pass with forking off; afterwards even a small file is cut in pieces."""
    monkeypatch.setenv("INTONE_NO_FORK", "1")
    one = linter.lint_path(path)
    monkeypatch.delenv("INTONE_NO_FORK")
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    return one


@pytest.mark.parametrize("seed", range(6))
def test_two_halves_equal_one_pass(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, seed)
    linter = Linter(Settings(cache=False))
    one = _one_pass_then_pieces(linter, path, monkeypatch)
    pieces = engine._pieces(path)
    assert pieces is not None and len(pieces) == engine.SCAN_PIECES  # really cut into pieces
    assert pieces[0][0] == 0 and pieces[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] and a[2] < b[2] for a, b in pairwise(pieces))
    two = linter.lint_path(path)
    assert two.diagnostics == one.diagnostics
    assert (two.n_lines, two.n_records) == (one.n_lines, one.n_records)
    assert two.profile.examples == one.profile.examples  # every field survives the hand-back
    assert sum(d.name == "crlf-line-ending" for d in two.diagnostics) <= 1


def test_a_failing_child_falls_back_to_scanning_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, 1)
    linter = Linter(Settings(cache=False))
    one = _one_pass_then_pieces(linter, path, monkeypatch)
    monkeypatch.setattr(engine, "_fork_scan", lambda *a, **k: None)
    assert linter.lint_path(path).diagnostics == one.diagnostics


def test_pieces_the_child_took_and_lost_are_scanned_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child takes pieces from the queue, then fails: this process scans what it took."""
    import os

    path = _file(tmp_path, 2)
    linter = Linter(Settings(cache=False))
    one = _one_pass_then_pieces(linter, path, monkeypatch)
    parent, real = os.getpid(), Linter._scan_piece
    here: list[int] = []  # the pieces scanned in this process, in order

    def scan_piece(self, path, display, piece, *rest):
        if os.getpid() != parent:
            raise RuntimeError("the child fails on the piece it took")
        here.append(piece[0])
        time.sleep(0.02)  # so that the child surely takes a piece
        return real(self, path, display, piece, *rest)

    monkeypatch.setattr(Linter, "_scan_piece", scan_piece)
    two = linter.lint_path(path)
    assert two.diagnostics == one.diagnostics
    assert two.profile.examples == one.profile.examples
    assert len(here) == engine.SCAN_PIECES and here != sorted(here)  # the child's piece, rescanned last


def test_progress_reaches_the_file_size_in_steps_forward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    record = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a" * 900}]})
    path.write_text((record + "\n") * 3000)  # about 2.7 MB: chunks of 1 MB report on the way
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    steps: list[int] = []
    report = Linter(Settings(cache=False)).lint_path(path, progress=steps.append)
    assert report.n_records == 3000
    assert all(step > 0 for step in steps) and sum(steps) == path.stat().st_size


def test_a_file_of_one_huge_line_is_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a" * 10_000}]}))
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1)
    assert engine._pieces(path) is None
    assert Linter(Settings(cache=False)).lint_path(path).n_records == 1


def _rich_file(tmp_path: Path) -> Path:
    """Findings from most dataset rules: near copies, duplicates, a stock opener, uniform lengths."""
    rng = random.Random(7)
    lines = []
    for i in range(300):
        answer = f"Certainly! The tide turns at {i % 40} and the gulls cry over the harbour wall again."
        if i % 25 == 0:
            answer = "Arr, the sea is grey and the wind is cold tonight, friend, so mind the rigging."
        lines.append(json.dumps({"messages": [{"role": "user", "content": f"Question {rng.randint(0, 90)}?"},
                                              {"role": "assistant", "content": answer}]}) + "\n")
    path = tmp_path / "rich.jsonl"
    path.write_text("".join(lines))
    return path


def _on_one_core(linter: Linter, path: Path, monkeypatch: pytest.MonkeyPatch):
    """The report with forking off; afterwards dataset rules fork even for small files."""
    monkeypatch.setenv("INTONE_NO_FORK", "1")
    one = linter.lint_path(path)
    monkeypatch.delenv("INTONE_NO_FORK")
    monkeypatch.setattr(engine, "PARALLEL_MIN_EXAMPLES", 1)
    return one


def test_dataset_rules_on_two_cores_equal_one_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _rich_file(tmp_path)
    linter = Linter(Settings(cache=False))
    one = _on_one_core(linter, path, monkeypatch)
    forked = []
    real_fork = engine._fork
    monkeypatch.setattr(engine, "_fork", lambda call: forked.append(call) or real_fork(call))
    two = linter.lint_path(path)
    assert forked  # the dataset rules really were split
    assert len({d.name for d in one.diagnostics}) >= 3
    assert two.diagnostics == one.diagnostics


def test_dataset_rules_run_here_when_the_child_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _rich_file(tmp_path)
    linter = Linter(Settings(cache=False))
    one = _on_one_core(linter, path, monkeypatch)

    def broken():
        raise RuntimeError("the child fails")

    real_fork = engine._fork
    monkeypatch.setattr(engine, "_fork", lambda call: real_fork(broken))
    assert linter.lint_path(path).diagnostics == one.diagnostics


def test_packed_examples_come_back_equal() -> None:
    """The forked half hands its examples back in columns; every field must survive the trip."""
    import pickle

    from intone.lint.profile import Columns, ExampleStats, pack_columns, unpack_columns

    key = bytes(range(16))
    examples = [
        ExampleStats(3, "hi", key, ("Ahoy!",), (1,), ("sea",), 1, 2, False, (0,), key),
        ExampleStats(5, "a\nb", key[::-1], ("one", "", "thr\u00e9e \ud800"), (1, 0, 2), (), 2, 6, True,
                     (0, 1, 1), key * 3),
        ExampleStats(9, "", key, (), (), ("x", "y"), 0, 1, True, (), b""),
        ExampleStats(12, "\U0001f600 emoji", key, ("\U0001f600",), (1,), (), 1, 2, False, (-1,), key),
    ]
    packed = pickle.loads(pickle.dumps(pack_columns(Columns.of(examples))))
    assert unpack_columns(packed).examples() == examples
    assert unpack_columns(pack_columns(Columns())).examples() == []


def test_the_collector_thresholds_come_back_after_a_lint(tmp_path: Path) -> None:
    import gc

    before = gc.get_threshold()
    report = Linter(Settings(cache=False)).lint_path(_file(tmp_path, 2))
    assert report.n_records > 0
    assert gc.get_threshold() == before
