"""textual is imported only under intone/authoring/, and the app's logic runs without it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "intone"
LOGIC = (
    "intone.authoring.model",
    "intone.authoring.undo",
    "intone.authoring.journal",
    "intone.authoring.live",
)


def test_lint_and_the_app_logic_do_not_import_textual() -> None:
    code = (
        "import sys, intone.lint, intone.lint.engine, intone.cli, intone.commands.author, "
        + ", ".join(LOGIC)
        + "; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_app_modules_do_import_textual() -> None:
    code = "import sys, intone.authoring.app; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_no_module_outside_authoring_imports_textual() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "authoring" in path.relative_to(SRC).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") for n in names):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_cli_usage_errors(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "intone.cli", "author"]
    folder = subprocess.run([*run, str(tmp_path)], check=False, capture_output=True, text=True)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    missing = subprocess.run(
        [*run, str(tmp_path / "nope" / "x.jsonl")], check=False, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    (tmp_path / "intone.toml").write_text("[author]\nkeymap = {save = 5}\n")
    bad = subprocess.run([*run, str(tmp_path / "x.jsonl")], check=False, capture_output=True, text=True)
    assert bad.returncode == 2 and "keymap" in bad.stderr and "Traceback" not in bad.stderr


FIRST_PAINT_PROBE = """
import asyncio, json, sys
from intone.authoring.app import make_app
from intone.authoring.screens.editor import EditorScreen

seen = {}
painted = EditorScreen._painted

def probe(self):
    seen["pydantic at first paint"] = "pydantic" in sys.modules
    seen["rows on screen"] = len(self.dataset.rows)
    painted(self)

EditorScreen._painted = probe

async def main():
    app = make_app(sys.argv[1])
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.editor_screen
        while screen.busy:
            await pilot.pause(0.02)
        seen["rows in the end"] = len(screen.dataset.rows)
        seen["errors in the end"] = screen.live.counts()[0]
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_the_first_screen_is_drawn_before_pydantic_is_imported(tmp_path: Path) -> None:
    """pydantic costs about 200 ms to import: the first screen must not wait for it."""
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"question {i}"},
                    {"role": "assistant", "content": f"answer {i}"},
                ]
            }
        )
        for i in range(300)
    ]
    lines[200] = json.dumps({"messages": [{"role": "user", "content": 5}]})  # read by the worker
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "pydantic at first paint": False,
        "rows on screen": 120,
        "rows in the end": 300,
        "errors in the end": 1,
    }
