"""The `intone-lint` pre-commit hook, with the real `pre-commit` tool, end to end.

pre-commit clones this checkout at its current HEAD (so only committed files count) and
pip-installs intone into a hook environment: slow (a minute or two) the first time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOOD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'
BROKEN = GOOD + '{"messages": [{"role": "user", "content": "hi"}\n'

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _pre_commit() -> str:
    beside = Path(sys.executable).parent / "pre-commit"
    found = str(beside) if beside.exists() else shutil.which("pre-commit")
    if found is None:
        pytest.fail("pre-commit is not installed (it is in the dev extra)")
    return found


def _env(tmp_path: Path) -> dict[str, str]:
    # Hermetic git: no user/system config (hooksPath, gpgsign) and no GIT_DIR from an outer hook.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="intone test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="intone test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
        NO_COLOR="1",
    )
    env.pop("PRE_COMMIT", None)
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=840)


@pytest.mark.timeout(900)
def test_hook_rejects_broken_jsonl_and_accepts_fixed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    head = _run(["git", "rev-parse", "HEAD"], REPO, env)
    if head.returncode != 0:
        pytest.skip(f"{REPO} is not a git checkout: {head.stderr.strip()}")
    rev = head.stdout.strip()
    hooks_file = _run(["git", "cat-file", "-e", f"{rev}:.pre-commit-hooks.yaml"], REPO, env)
    assert hooks_file.returncode == 0, ".pre-commit-hooks.yaml must be committed at HEAD"

    work = tmp_path / "dataset-repo"
    work.mkdir()
    assert _run(["git", "init", "-q", "-b", "main"], work, env).returncode == 0
    (work / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: intone-lint\n",
        "utf-8",
    )
    (work / "README.txt").write_text("not a dataset\n", "utf-8")
    installed = _run([_pre_commit(), "install"], work, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    data = work / "voice.jsonl"
    data.write_text(BROKEN, "utf-8")
    _run(["git", "add", ".pre-commit-config.yaml", "README.txt", "voice.jsonl"], work, env)
    rejected = _run(["git", "commit", "-q", "-m", "add broken data"], work, env)
    output = rejected.stdout + rejected.stderr
    assert rejected.returncode != 0, f"commit of a broken JSONL was accepted:\n{output}"
    assert "intone lint" in output and "Failed" in output, output
    assert "voice.jsonl:2:" in output and "invalid-json" in output, output
    assert "Traceback" not in output, output
    assert _run(["git", "rev-parse", "--verify", "-q", "HEAD"], work, env).returncode != 0

    data.write_text(GOOD + '{"messages": [{"role": "user", "content": "yo"}, {"role": "assistant", "content": "Ahoy again!"}]}\n', "utf-8")
    _run(["git", "add", "voice.jsonl"], work, env)
    accepted = _run(["git", "commit", "-q", "-m", "add fixed data"], work, env)
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, f"commit of a clean JSONL was rejected:\n{output}"
    assert "Passed" in output, output
    log = _run(["git", "log", "--format=%s"], work, env)
    assert log.stdout.split("\n")[0] == "add fixed data"
