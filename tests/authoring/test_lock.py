"""One `intone author` per file: a second is refused; a crashed or killed one never blocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from intone.authoring import journal
from intone.authoring.app import make_app
from intone.authoring.lock import EditLock, FileInUse, lock_path

HOLDER = (
    "import sys, time\n"
    "from intone.authoring.lock import EditLock\n"
    "lock = EditLock.acquire(sys.argv[1])\n"
    "print('locked' if lock else 'no lock', flush=True)\n"
    "time.sleep(120)\n"
)

INTONE = "import sys; from intone.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def holder(sample: Path):
    """Another process that has `sample` open for editing (as a running `intone author` does)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(sample)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_app_on_the_same_file_is_refused(sample: Path, holder) -> None:
    with pytest.raises(FileInUse) as refused:
        make_app(sample)
    message = str(refused.value)
    assert str(sample) in message and "another intone author has it open" in message
    assert f"process {holder.pid}" in message


def test_the_command_refuses_with_exit_2_and_says_why(sample: Path, holder) -> None:
    before = sample.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", INTONE, "author", str(sample)],
        capture_output=True,
        check=False,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=15,  # a regression would start a second editor here instead of refusing
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(sample) in done.stderr and "another intone author has it open" in done.stderr
    assert sample.read_bytes() == before and not journal.journal_path(sample).exists()


def test_a_symlink_to_an_open_file_is_the_same_file(sample: Path, holder) -> None:
    link = sample.with_name("link.jsonl")
    link.symlink_to(sample.name)
    with pytest.raises(FileInUse):
        make_app(link)


def test_a_lock_left_by_a_killed_process_does_not_block(sample: Path, holder) -> None:
    with pytest.raises(FileInUse):
        EditLock.acquire(sample)
    os.kill(holder.pid, signal.SIGKILL)  # no chance to clean up: the lock file stays behind
    holder.wait()
    assert lock_path(sample).exists()
    app = make_app(sample)
    assert app.lock is not None and app.lock.held


@pytest.mark.asyncio
async def test_the_lock_is_held_while_the_app_runs_and_released_when_it_ends(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        with pytest.raises(FileInUse):
            EditLock.acquire(sample)
        await pilot.press("ctrl+q")
    assert not lock_path(sample).exists()  # removed on the way out, not left as litter
    again = EditLock.acquire(sample)
    assert again is not None
    again.release()
