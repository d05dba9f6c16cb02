"""Large files show a progress bar on stderr, but only when stderr is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

INTONE = str(Path(sys.executable).parent / "intone")
RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'


def _run(path: Path, *, tty: bool) -> tuple[int, str]:
    env = {**os.environ, "INTONE_PROGRESS_BYTES": "1000", "COLUMNS": "100"}
    if not tty:
        proc = subprocess.run(
            [INTONE, "lint", "--no-cache", "--select", "IN1,IN2", str(path)],
            capture_output=True,
            text=True,
            env=env,
        )
        return proc.returncode, proc.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [INTONE, "lint", "--no-cache", "--select", "IN1,IN2", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace")


def test_progress_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("".join(RECORD.replace("hi", f"hi {i}") for i in range(2000)))
    code, err = _run(path, tty=True)
    assert code == 0
    assert "lint big.jsonl" in err


def test_no_progress_when_piped(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("".join(RECORD.replace("hi", f"hi {i}") for i in range(2000)))
    code, err = _run(path, tty=False)
    assert code == 0
    assert err == ""
