"""`intone lint` leaves without the interpreter's teardown (`intone.cli.run`): everything it
printed must still arrive, whole, with its exit code."""

from __future__ import annotations

import json
from pathlib import Path

from ._util import intone, rec


def test_a_long_report_arrives_whole_before_the_quick_exit(tmp_path: Path) -> None:
    lines = [json.dumps(rec(f"Question {i}?", "As an AI language model, I hope this helps!")) for i in range(3000)]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = intone("lint", "--no-cache", "--format", "json", str(path), cwd=tmp_path)
    assert done.returncode == 1
    report = json.loads(done.stdout)  # the whole JSON document, not a cut-off buffer
    found = [d for d in report["diagnostics"] if d["name"] == "assistant-boilerplate"]
    assert len(found) == 3000
    text = intone("lint", "--no-cache", str(path), cwd=tmp_path)
    assert text.returncode == 1 and text.stdout.rstrip().endswith("valid records).")
