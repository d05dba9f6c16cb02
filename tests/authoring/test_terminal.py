"""The real `intone author` in a real terminal (tmux), driven as a person would drive it.

Skipped, with the reason, when tmux is not installed (CI installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from intone.authoring.journal import journal_path

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"
)


def intone_command() -> list[str]:
    script = Path(sys.executable).parent / "intone"
    return [str(script)] if script.exists() else [sys.executable, "-m", "intone.cli"]


def _clean_signals() -> None:
    """The tmux server inherits our signal mask and dispositions; it must see SIGCHLD to reap the app."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for number in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


class Tmux:
    """One private tmux server (its own socket), so tests never touch anyone else's sessions."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"intone-test-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd

    def tmux(self, *args: str) -> str:
        # COLUMNS/LINES (set under pytest) would override the pane's real size in the app.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
            preexec_fn=_clean_signals,
        ).stdout

    def start(self, *argv: str) -> None:
        command = "exec " + " ".join(f"'{a}'" for a in argv)
        env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "NO_COLOR": ""}
        self.tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "120", "-y", "36", "-c", str(self.cwd),
            *[x for k, v in env.items() for x in ("-e", f"{k}={v}")],
            command, ";", "set-option", "-t", "app", "remain-on-exit", "on",
        )  # fmt: skip

    def keys(self, *keys: str) -> None:
        """Press keys one at a time, pausing like a person between them."""
        for key in keys:
            self.tmux("send-keys", "-t", "app", key)
            time.sleep(0.4)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "app", "-l", text)
        time.sleep(0.2)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")

    def pane(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "app", fmt).strip()

    def wait_exit(self, timeout: float = 30) -> int:
        """The app's exit code, once it has exited (from tmux, or from /proc for an unreaped zombie)."""
        pid = int(self.pane("#{pane_pid}"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pane("#{pane_dead}") == "1":
                status, signal_number = self.pane("#{pane_dead_status}"), self.pane("#{pane_dead_signal}")
                if status:
                    return int(status)
                if signal_number:
                    return -int(signal_number)
                code = zombie_exit_code(pid)
                if code is not None:
                    return code
            time.sleep(0.1)
        state = self.pane(
            "dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal} pid=#{pane_pid}"
        )
        raise AssertionError(f"the app did not exit ({state}); the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True, timeout=10
        )


def zombie_exit_code(pid: int) -> int | None:
    """Exit code of a dead process its parent has not reaped yet (Linux /proc/PID/stat field 52)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    if fields[0] != "Z" or len(fields) < 50:
        return None
    return os.waitstatus_to_exitcode(int(fields[49]))


def wait_dead(pid: int, timeout: float = 10) -> None:
    """Wait until the process is gone or a zombie (dead, not yet reaped by tmux)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} survived SIGKILL")


@pytest.fixture
def term(tmp_path: Path):
    t = Tmux(tmp_path)
    yield t
    t.close()


def test_type_an_example_save_quit(term: Tmux, tmp_path: Path) -> None:
    term.start(*intone_command(), "author", "marlo.jsonl")
    term.wait_for("No examples yet")
    term.keys("C-n")
    term.wait_for("Example 1 of 1")
    term.type("What is in the tin?")
    term.wait_for("What is in the tin?")
    term.keys("Tab")
    term.type("Biscuits, of course. Ship's biscuits, hard as anchors.")
    term.wait_for("hard as anchors.")
    term.wait_for("this answer: 8 words")
    term.keys("C-s")
    term.wait_for("saved 1 line")
    term.keys("C-q")
    assert term.wait_exit() == 0
    expected = {
        "messages": [
            {"role": "user", "content": "What is in the tin?"},
            {"role": "assistant", "content": "Biscuits, of course. Ship's biscuits, hard as anchors."},
        ]
    }
    assert (tmp_path / "marlo.jsonl").read_bytes() == (
        json.dumps(expected, ensure_ascii=False) + "\n"
    ).encode()
    assert not journal_path(tmp_path / "marlo.jsonl").exists()


def test_killed_mid_edit_then_recovered(term: Tmux, tmp_path: Path) -> None:
    path = tmp_path / "marlo.jsonl"
    original = (
        b'{"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Ahoy."}]}\n'
    )
    path.write_bytes(original)
    term.start(*intone_command(), "author", "marlo.jsonl")
    term.wait_for("Example 1 of 1")
    term.keys("C-n")
    term.wait_for("Example 2 of 2")
    term.type("Are you there?")
    term.wait_for("Are you there?")
    term.keys("Tab")
    term.type("Always, up in the lamp room")
    term.wait_for("unsaved")
    deadline = time.monotonic() + 5
    while b"lamp room" not in (journal_path(path).read_bytes() if journal_path(path).exists() else b""):
        assert time.monotonic() < deadline, "the journal was not written within a second or so"
        time.sleep(0.1)
    pid = int(term.pane("#{pane_pid}"))
    os.kill(pid, signal.SIGKILL)  # no chance to clean up
    wait_dead(pid)
    assert path.read_bytes() == original  # the kill saved nothing, the journal has it
    term.close()

    term2 = Tmux(tmp_path)
    try:
        term2.start(*intone_command(), "author", "marlo.jsonl")
        term2.wait_for("Recover unsaved edits?")
        term2.keys("Enter")  # "Recover" is focused
        term2.wait_for("recovered 1 edited")
        term2.keys("C-s")
        term2.wait_for("saved 2 lines")
        term2.keys("C-q")
        assert term2.wait_exit() == 0
    finally:
        term2.close()
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines[0] == original
    assert json.loads(lines[1])["messages"] == [
        {"role": "user", "content": "Are you there?"},
        {"role": "assistant", "content": "Always, up in the lamp room"},
    ]
    assert not journal_path(path).exists()
