"""Time `intone probe` on a trained run: 15 prompts x 3 samples x 4 settings = 180 replies.

The prompts are data/eval.jsonl's, topped up from data/persona.jsonl to 15; the grid is
temperature=0.6,0.9 x repetition-penalty=1.0,1.15 (max-new-tokens 256, intone sample's
default), tuned model only. The whole command is timed in a subprocess: model load,
generation, measures and writing the files. It is stopped at --give-up seconds (default twice
the bar), and the replies done by then are reported from its progress lines.

Bar: at most 300 s (issue 13: 180 replies in 5 min on this CPU with the 270M model). Exit 1 on a miss.

    python bench/probe_speed.py [--run runs/demo/adapter-run] [--prompts 15] [--samples 3]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAR_S = 300.0
GRID = ["temperature=0.6,0.9", "repetition-penalty=1.0,1.15"]
_PROGRESS = re.compile(r"probe: (\d+)/(\d+) replies")


def prompt_file(folder: Path, n: int) -> Path:
    lines = [x for x in (ROOT / "data" / "eval.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    extra = [x for x in (ROOT / "data" / "persona.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    chosen = (lines + extra)[:n]
    path = folder / "prompts.jsonl"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo" / "adapter-run")
    parser.add_argument("--prompts", type=int, default=15)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--give-up", type=float, default=2 * BAR_S, help="stop the probe after this many seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = folder / "probe"
        command = [sys.executable, "-m", "intone.cli", "probe", str(args.run), "--prompts",
                   str(prompt_file(folder, args.prompts)), "--grid", *GRID, "--samples", str(args.samples),
                   "--out", str(out), "--device", "cpu"]
        done = [0, 0]

        def follow(stream) -> None:
            for line in stream:
                sys.stderr.write(line)
                found = _PROGRESS.search(line)
                if found:
                    done[:] = [int(found.group(1)), int(found.group(2))]

        started = time.perf_counter()
        table_file = folder / "table.txt"
        with open(table_file, "w", encoding="utf-8") as table_out:
            proc = subprocess.Popen(command, stdout=table_out, stderr=subprocess.PIPE, text=True)
        reader = threading.Thread(target=follow, args=(proc.stderr,), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=args.give_up)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            seconds = time.perf_counter() - started
            # Progress lines come every tenth of the replies: the count is a lower bound.
            print(f"MISSED: gave up after {seconds:.0f} s with at least {done[0]}/{done[1]} replies done "
                  f"(at most {seconds / max(1, done[0]):.1f} s per reply; bar <= {BAR_S:.0f} s for all)")
            return 1
        seconds = time.perf_counter() - started
        reader.join(timeout=5)
        if proc.returncode != 0:
            print(f"intone probe exited {proc.returncode}")
            return 2
        table = table_file.read_text(encoding="utf-8")
        summary = json.loads((out / "summary.json").read_text())
        records = [json.loads(x) for x in (out / "probe.jsonl").read_text().splitlines()]
    print(table)
    tokens = sum(r["tokens"] for r in records)
    print(f"{len(records)} replies ({args.prompts} prompts x {args.samples} samples x {len(summary['settings'])} "
          f"settings), {tokens} new tokens")
    print(f"whole command {seconds:.1f} s (model load and generation {summary['generation_seconds']:.1f} s, "
          f"{tokens / summary['generation_seconds']:.1f} new tokens/s); bar <= {BAR_S:.0f} s")
    ok = seconds <= BAR_S
    print("bar met" if ok else f"MISSED: {seconds:.1f} s > {BAR_S:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
