"""Speed of the voice and distribution rules on the 100k-record benchmark file.

    .venv/bin/python bench/rules_speed.py [FILE]

Bar: all of them together add at most 50% to the structural lint's wall time (both measured
here, side by side, best of REPEATS interleaved runs each). Also prints each rule's own cost on the
profile and how near-duplicate's time grows from 10k to 100k records (it must be
sub-quadratic). Exits 1 if the bar is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from rule_quality import RULES as VOICE_RULES  # the one list of voice/distribution rules

from intone.config import Settings
from intone.lint.context import LintContext
from intone.lint.engine import Linter, collect_rarely
from intone.lint.profile import Columns, DatasetProfile
from intone.lint.rules import RULES
from intone.lint.tokens import TiktokenCounter

REPEATS = 3
BAR = 1.5


def lint_seconds(path: Path, selections: list[list[str]], counter: TiktokenCounter):
    """Best wall time per selection, runs interleaved so a busy machine hurts both alike."""
    best = [float("inf")] * len(selections)
    profile = None
    for _ in range(REPEATS):
        for i, select in enumerate(selections):
            linter = Linter(Settings(select=select, cache=False), counter=counter)
            start = time.perf_counter()
            report = linter.lint_path(path)
            best[i] = min(best[i], time.perf_counter() - start)
            profile = report.profile
    return best, profile


def sub_profile(profile: DatasetProfile, n: int) -> DatasetProfile:
    """The first `n` examples, in columns as a lint's scan builds them, with no analyses yet."""
    columns = Columns(*[column[:n] for column in profile.columns.lists()])
    return DatasetProfile(path=profile.path, n_lines=n, columns=columns)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "file", nargs="?", help="JSONL file (default: bench/out/100k.jsonl, generated if missing)"
    )
    args = parser.parse_args()
    collect_rarely()  # as `intone lint` runs: the rules below are timed outside a lint call
    path = ROOT / "bench/out/100k.jsonl"
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            parser.error(f"{path}: no such file")
    elif not path.exists():
        import gen

        path.parent.mkdir(parents=True, exist_ok=True)
        gen.write(path, 100_000)
    counter = TiktokenCounter()
    counter.count_text("warm up the encoding")
    structural = [r.name for r in RULES if r.name not in VOICE_RULES]
    (t_struct, t_all), profile = lint_seconds(path, [structural, ["ALL"]], counter)
    added = t_all / t_struct - 1
    print(f"file: {path} ({profile.n_records} records)")
    print(f"structural rules only: {t_struct:6.2f} s  (best of {REPEATS})")
    print(f"all rules:             {t_all:6.2f} s  (best of {REPEATS})")
    print(f"voice/distribution rules add {100 * added:.0f}% (bar: at most {100 * (BAR - 1):.0f}%)")

    print("\neach rule alone on the finished profile (fresh analyses each time):")
    ctx = LintContext(path=str(path), settings=Settings(), counter=counter)
    for name in VOICE_RULES:
        rule = RULES.by_name(name)()
        if not hasattr(rule, "check_dataset"):
            continue
        fresh = sub_profile(profile, profile.n_records)
        start = time.perf_counter()
        list(rule.check_dataset(fresh, ctx))
        print(f"  {name:<22} {time.perf_counter() - start:6.2f} s")

    print("\nnear-duplicate time as the dataset grows:")
    rule = RULES.by_name("near-duplicate")()
    previous = None
    for n in (10_000, 30_000, 100_000):
        if n > profile.n_records:
            break
        sub = sub_profile(profile, n)
        start = time.perf_counter()
        list(rule.check_dataset(sub, ctx))
        took = time.perf_counter() - start
        growth = f"  x{took / previous[1]:.1f} time for x{n / previous[0]:.1f} records" if previous else ""
        print(f"  {n:>7} records: {took:6.2f} s  ({1e6 * took / n:.1f} us/record){growth}")
        previous = (n, took)
    ok = t_all <= BAR * t_struct
    print("\nPASS" if ok else "\nFAIL: the voice/distribution rules add more than the bar")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
