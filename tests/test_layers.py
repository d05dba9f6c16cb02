"""The one-way layering of CONVENTIONS.md, held by import-linter's contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_import_contracts_are_kept() -> None:
    done = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout


def test_no_package_imports_the_command_layer() -> None:
    for package in ("schemas", "lint", "authoring", "train"):
        for path in (ROOT / "src" / "intone" / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "intone.cli" not in text and "intone.commands" not in text, path
