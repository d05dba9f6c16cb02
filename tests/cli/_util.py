"""Run the real `intone` console script in a subprocess, and small dataset builders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

_BESIDE = Path(sys.executable).parent / "intone"
INTONE = str(_BESIDE) if _BESIDE.exists() else (shutil.which("intone") or "intone")

# The rules of the linter issue; other rules (voice, style) are added by other packages.
STRUCTURAL = (
    "invalid-json,invalid-utf8,not-an-object,blank-line,byte-order-mark,crlf-line-ending,schema-error,"
    "unknown-role,unknown-key,empty-content,role-order,no-assistant-turn,ends-on-user,whitespace,"
    "duplicate-example,duplicate-prompt,too-long"
)


def intone(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `intone ARGS`; every run is checked for the one thing a user must never see."""
    full_env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    full_env.pop("INTONE_DEBUG", None)
    done = subprocess.run(
        [INTONE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    return done


def rec(user: str, answer: str, **meta: object) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}], **meta}


CLEAN = [
    rec("Hello there!", "Ahoy, friend."),
    rec("What's your name?", "Pim, first mate of the good ship Biscuit."),
    rec("Tell me about the sea.", "Grey in the morning, green at noon, and black as tar when the squalls come in."),
    {"messages": [
        {"role": "system", "content": "You are Pim, a parrot sailor."},
        {"role": "user", "content": "Any advice for a new sailor?"},
        {"role": "assistant", "content": "Keep one hand for yourself and one for the ship."},
        {"role": "user", "content": "And the other?"},
        {"role": "assistant", "content": "Parrots have wings, landlubber."},
    ]},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path
