"""Precision and recall of the voice and distribution rules on datasets with known properties.

    .venv/bin/python bench/rule_quality.py

Sources of truth:
- tests/fixtures/voice/expected.json, written by tests/fixtures/voice/make_fixtures.py
  (rule -> lines where it must fire, `null` for a dataset-level finding; every rule not listed
  must stay quiet, except those under `_ignore`; eval files name their `_train` file);
- the bundled data: data/persona.jsonl must be clean, and each data/flawed file shows the one
  problem data/flawed/README.md describes.

Each expected (file, line) is one item; a dataset-level finding is the item (file, null).
Prints a table per rule and exits 1 if any clean file gets a finding from these rules.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from intone.config import Settings
from intone.lint.engine import Linter, LintResult

RULES = (
    "length-uniformity",
    "length-outlier",
    "style-drift",
    "repeated-opener",
    "repeated-closer",
    "catchphrase-imbalance",
    "near-duplicate",
    "low-diversity",
    "eval-leakage",
)
FIXTURES = ROOT / "tests/fixtures/voice"

# The bundled data, as data/flawed/README.md describes it.
BUNDLED = {
    "data/persona.jsonl": {},
    "data/flawed/uniform-length.jsonl": {"length-uniformity": [None]},
    "data/flawed/style-drift.jsonl": {"style-drift": [None, *range(31, 41)]},
    "data/flawed/stock-openers.jsonl": {"repeated-opener": [None], "repeated-closer": [None]},
    "data/flawed/near-duplicates.jsonl": {"near-duplicate": [2, 11, 12, 24]},  # on the originals
    "data/flawed/leaky-eval.jsonl": {"eval-leakage": [1, 3, 5], "_train": "data/persona.jsonl"},
}


def findings(path: Path, train: Path | None) -> dict[str, set]:
    linter = Linter(Settings(select=list(RULES), cache=False))
    if train is None:
        result = LintResult([linter.lint_path(path)])
        diags = result.diagnostics
    else:
        result = linter.lint_with_eval(LintResult([linter.lint_path(train)]), path)
        diags = [d for d in result.diagnostics if d.path == str(path) and d.name == "eval-leakage"]
    found: dict[str, set] = defaultdict(set)
    for d in diags:
        found[d.name].add(d.line)
    return found


def main() -> int:
    cases: list[tuple[str, Path, dict]] = []
    expected_fixtures = json.loads((FIXTURES / "expected.json").read_text("utf-8"))
    for name, spec in expected_fixtures.items():
        cases.append((f"fixtures/{name}", FIXTURES / name, spec))
    for rel, spec in BUNDLED.items():
        if (ROOT / rel).exists():
            cases.append((rel, ROOT / rel, spec))
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    clean_failures = []
    print(f"{'file':<42} findings (rule: got / expected)")
    for label, path, spec in cases:
        train = spec.get("_train")
        train_path = None
        if train:
            train_path = (FIXTURES / train) if (FIXTURES / train).exists() else ROOT / train
        got = findings(path, train_path)
        ignore = set(spec.get("_ignore", ()))
        rules = ("eval-leakage",) if train else tuple(r for r in RULES if r != "eval-leakage")
        summary = []
        for rule in rules:
            if rule in ignore:
                continue
            want = set(spec.get(rule, ()))
            have = got.get(rule, set())
            tp[rule] += len(want & have)
            fp[rule] += len(have - want)
            fn[rule] += len(want - have)
            if want or have:
                summary.append(f"{rule}: {len(have)}/{len(want)}")
            if not want and have and not any(k for k in spec if not k.startswith("_")):
                clean_failures.append(f"{label}: {rule} fired on lines {sorted(have, key=str)}")
        print(f"{label:<42} {', '.join(summary) or 'quiet'}")
    print()
    print(f"{'rule':<24}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>9}")
    for rule in RULES:
        t, f, n = tp[rule], fp[rule], fn[rule]
        precision = f"{t / (t + f):.2f}" if t + f else "n/a"
        recall = f"{t / (t + n):.2f}" if t + n else "n/a"
        print(f"{rule:<24}{t:>5}{f:>5}{n:>5}{precision:>11}{recall:>9}")
    if clean_failures:
        print("\nFindings on clean files:")
        print("\n".join(f"  {c}" for c in clean_failures))
        return 1
    print("\nClean files: no findings from these rules.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
