"""Lint speed against parallelogram (a peer validator), memory, scaling and the cache.

Run: .venv/bin/python bench/lint_speed.py   (or `make bench`)
Prints its figures and exits 1 if a bar is missed:
  - intone's cold wall time on 100k records, all default rules, --format json, <= parallelogram
    check's on the same file, measured side by side (median of five alternating runs);
  - peak RSS <= 400 MB;
  - the voice and dataset rules add at most 50% over the structural rules alone;
  - time per record roughly constant from 1k to 100k (linear growth);
  - a second run on the unchanged file (cache hit) <= 1/4 of the cold time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen import write

BIN = Path(sys.executable).parent
# The rules of the linter-CLI issue (structural); the voice rules have their own bench.
STRUCTURAL = (
    "invalid-json,invalid-utf8,not-an-object,blank-line,byte-order-mark,crlf-line-ending,"
    "schema-error,unknown-role,unknown-key,empty-content,role-order,no-assistant-turn,"
    "ends-on-user,whitespace,duplicate-example,duplicate-prompt,too-long"
)


def run(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, and exit code of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def compiled_like_an_install() -> None:
    """Write intone's bytecode first, as `pip install` does for a regular (non-editable) install
    and as the first run does where bytecode may be written. An editable install with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module on every run (about 0.1 s
    here), which is not what a user's runs cost; parallelogram's own bytecode was written when it
    was installed."""
    import compileall

    compileall.compile_dir(HERE.parent / "src", quiet=1)


def main() -> int:
    compiled_like_an_install()
    work = Path(tempfile.mkdtemp(prefix="intone-bench-"))
    try:
        files = {n: write(work / f"{n}.jsonl", n) for n in (1_000, 10_000, 100_000)}
        big = files[100_000]
        print(f"workload: {big.stat().st_size / 1e6:.1f} MB, 100,000 two-turn records")
        intone = [str(BIN / "intone"), "lint", "--select", STRUCTURAL]
        every = [str(BIN / "intone"), "lint", "--format", "json"]
        failed = []

        pg_runs, all_runs, structural_runs = [], [], []
        for _ in range(5):  # alternate, so drift in the machine's load hits every side alike
            pg_runs.append(run([str(BIN / "parallelogram"), "check", str(big)], work))
            all_runs.append(run([*every, "--no-cache", str(big)], work))
            structural_runs.append(run([*intone, "--no-cache", str(big)], work))

        def median(runs):
            return sorted(runs)[len(runs) // 2]

        pg_wall, pg_rss, _ = median(pg_runs)
        full, full_rss, code = median(all_runs)
        cold, rss, _ = median(structural_runs)
        print(f"parallelogram check          : {pg_wall:6.2f} s  peak RSS {pg_rss:6.0f} MB")
        print(f"intone lint, all rules, json : {full:6.2f} s  peak RSS {full_rss:6.0f} MB  exit {code}"
              f"  = {full / pg_wall:.2f}x parallelogram (bar <= 1.0x)")
        print(f"intone lint, structural only : {cold:6.2f} s  peak RSS {rss:6.0f} MB;"
              f" the other rules add {full / cold - 1:.0%} (bar <= 50%)")
        if full > pg_wall:
            failed.append(f"cold lint {full:.2f} s > parallelogram {pg_wall:.2f} s")
        if max(full_rss, rss) > 400:
            failed.append(f"peak RSS {max(full_rss, rss):.0f} MB > 400 MB")
        if full > 1.5 * cold:
            failed.append(f"all rules {full:.2f} s > 1.5 x structural {cold:.2f} s")

        per_record = {}
        for n, path in files.items():
            wall, _, _ = run([*intone, "--no-cache", str(path)], work)
            per_record[n] = wall / n * 1e6
            print(f"scaling {n:>7,} records: {wall:6.2f} s  ({per_record[n]:5.1f} us/record)")
        # Start-up dominates tiny files, so compare the two larger sizes for linearity.
        ratio = per_record[100_000] / per_record[10_000]
        print(f"time per record 100k / 10k: {ratio:.2f} (linear = 1.0; bar <= 1.5)")
        if ratio > 1.5:
            failed.append(f"super-linear growth: per-record ratio {ratio:.2f}")

        shutil.rmtree(work / ".intone_cache", ignore_errors=True)
        run([*intone, str(big)], work)  # fills the cache
        warm, _, _ = run([*intone, str(big)], work)
        print(f"intone lint (cached): {warm:6.2f} s  = {warm / cold:.0%} of cold (bar <= 25%)")
        if warm > cold / 4:
            failed.append(f"cached run {warm:.2f} s > a quarter of cold {cold:.2f} s")

        for problem in failed:
            print(f"MISSED: {problem}")
        print("all bars met" if not failed else f"{len(failed)} bar(s) missed")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
