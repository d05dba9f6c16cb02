"""Big files in `intone author`: memory per row stays small, and a huge line never freezes the app.

The figures for a million lines come from `bench/author_memory.py`; these tests hold the same
properties at a scale that runs in a second or two.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from intone.authoring.live import LiveLint
from intone.authoring.model import EDIT_LIMIT, Dataset, ReadOnlyRow, rows_from_path

ROWS = 20_000
WORDS = ("tide", "rope", "gull", "fog", "knot", "storm", "sail", "wave", "shell", "moon")


def small_records(path: Path, n: int = ROWS) -> Path:
    """Two-turn records of about 110 bytes, each one different, some with an id and tags."""
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(3 + i % 5)]
            record: dict = {
                "messages": [
                    {"role": "user", "content": f"{words[0].capitalize()} {words[1]} {i}?"},
                    {"role": "assistant", "content": " ".join(words).capitalize() + "."},
                ]
            }
            if i % 4 == 0:
                record = {"id": f"w{i}", **record, "tags": ["chat"]}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def traced(build):
    """(result, bytes it still holds, peak bytes while building), measured with tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        result = build()
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, held, peak


def test_a_row_read_from_the_file_costs_its_bytes_and_a_small_object(tmp_path: Path) -> None:
    path = small_records(tmp_path / "big.jsonl")
    line_bytes = path.stat().st_size / ROWS
    rows, held, _peak = traced(lambda: list(rows_from_path(path)))
    assert len(rows) == ROWS and not any(r.broken for r in rows)
    per_row = held / ROWS
    # Parsed dicts, pydantic records and widgets per row cost 3 KB; bytes + slots ~ 300 B.
    assert per_row < line_bytes + 300, f"{per_row:.0f} B per row for lines of {line_bytes:.0f} B"
    assert rows[7].data["messages"][0]["content"].endswith(" 7?")  # parsed again when asked for


def test_the_live_lint_keeps_little_per_row_after_the_whole_file_lint(tmp_path: Path) -> None:
    rows = 6000  # the whole-file lint under tracemalloc is slow
    path = small_records(tmp_path / "big.jsonl", rows)
    dataset = Dataset.load(path)
    live = LiveLint(None, str(path))
    warm = LiveLint(None, str(path), linter=live.linter)  # imports and the tokenizer: not per row
    warm.adopt(warm.full_lint(dataset.rows[:500], with_near=False), dataset.rows[:500])

    def lint() -> None:
        live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)

    _none, held, _peak = traced(lint)
    assert live.ready and live.counts()[0] == 0
    per_row = held / rows
    # Kept per row: two digests in the duplicate indexes and the uid tables (~220 B), not the
    # profile's per-example stats (~600 B), token lists and empty diagnostic lists (1.5 KB).
    assert per_row < 400, f"{per_row:.0f} B per row kept by the live lint"


def test_figures_follow_edits_of_rows_never_held_in_memory(tmp_path: Path) -> None:
    path = small_records(tmp_path / "big.jsonl", 200)
    dataset = Dataset.load(path)
    live = LiveLint(None, str(path))
    live.adopt(live.full_lint(dataset.rows, with_near=False), dataset.rows)
    words = sum(live.word_counts.values())
    row = dataset.rows[10]
    copy = dataset.rows[9].data  # an earlier line: batch lint reports the later copy
    dataset.replace(10, copy)
    live.update_row(row, 10)
    assert sum(live.word_counts.values()) == words  # the old answer out, the new one in
    names = [d.name for d in live.diagnostics_for(row, 10, dataset.rows)]
    assert "duplicate-example" in names
    dataset.undo.undo(dataset)
    live.update_row(row, 10)
    assert sum(live.word_counts.values()) == words
    assert "duplicate-example" not in [d.name for d in live.diagnostics_for(row, 10, dataset.rows)]
    assert not dataset.dirty


def huge_file(path: Path) -> Path:
    small = json.dumps(
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    )
    answer = "word " * 10_000_000  # one 50 MB line
    huge = json.dumps(
        {"messages": [{"role": "user", "content": "Everything?"}, {"role": "assistant", "content": answer}]}
    )
    path.write_text("\n".join([small] * 3 + [huge] + [small] * 3) + "\n")
    return path


def test_a_huge_line_is_kept_shown_cut_and_not_editable(tmp_path: Path) -> None:
    path = huge_file(tmp_path / "huge.jsonl")
    dataset = Dataset.load(path)
    row = dataset.rows[3]
    assert row.too_long and row.readonly and not row.broken and len(row.clean_bytes) > EDIT_LIMIT
    with pytest.raises(ReadOnlyRow, match="too long to edit here"):
        dataset.replace(3, {"messages": []})
    dataset.replace(0, {"messages": [{"role": "user", "content": "hey"}]})
    dataset.save()
    assert path.read_bytes().splitlines()[3] == row.clean_bytes.rstrip(b"\n")


INTONE = "import sys; from intone.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_ctrl_q_quits_within_two_seconds_while_a_huge_line_loads(tmp_path: Path) -> None:
    """The real command in a pseudo-terminal: from ctrl+q to the process gone."""
    import fcntl
    import pty
    import struct
    import termios

    path = huge_file(tmp_path / "huge.jsonl")
    pid, fd = pty.fork()
    if pid == 0:  # the child: a 120x36 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-c", INTONE, "author", str(path)])
    try:
        seen, started = b"", time.monotonic()
        while b"huge.jsonl" not in seen:  # the first frame (the status bar names the file)
            assert time.monotonic() - started < 20, "the app never drew its first screen"
            if select.select([fd], [], [], 0.1)[0]:
                seen = seen[-4096:] + os.read(fd, 1 << 16)
        time.sleep(0.3)  # the rest of the file, the huge line among it, is loading now
        pressed = time.monotonic()
        os.write(fd, b"\x11")  # ctrl+q
        while True:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() - pressed < 10, "ctrl+q did not quit within 10 s"
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 1 << 16)
                except OSError:
                    pass
        quit_s = time.monotonic() - pressed
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert quit_s < 2.0, f"ctrl+q took {quit_s:.1f} s"
