"""Time `intone probe` on a trained run: 15 prompts x 3 samples x 4 settings = 180 replies.

The prompts are data/eval.jsonl's, topped up from data/persona.jsonl to 15; the grid is
temperature=0.6,0.9 x repetition-penalty=1.0,1.15 (max-new-tokens 256, intone sample's
default), tuned model only. The whole command is timed: model load, generation, measures and
writing the files.

Bar: at most 300 s (issue 13: 180 replies in 5 min on this CPU with the 270M model). Exit 1 on a miss.

    python bench/probe_speed.py [--run runs/demo/adapter-run] [--prompts 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAR_S = 300.0
GRID = ["temperature=0.6,0.9", "repetition-penalty=1.0,1.15"]


def prompt_file(folder: Path, n: int) -> Path:
    lines = (ROOT / "data" / "eval.jsonl").read_text(encoding="utf-8").splitlines()
    extra = (ROOT / "data" / "persona.jsonl").read_text(encoding="utf-8").splitlines()
    chosen = [x for x in lines if x.strip()][:n]
    chosen += [x for x in extra if x.strip()][: n - len(chosen)]
    path = folder / "prompts.jsonl"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo" / "adapter-run")
    parser.add_argument("--prompts", type=int, default=15)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    from intone.cli import main as intone

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prompts = prompt_file(folder, args.prompts)
        out = folder / "probe"
        started = time.perf_counter()
        code = intone(["probe", str(args.run), "--prompts", str(prompts), "--grid", *GRID, "--samples",
                       str(args.samples), "--out", str(out), "--device", "cpu"])
        seconds = time.perf_counter() - started
        if code != 0:
            print(f"intone probe exited {code}")
            return 2
        summary = json.loads((out / "summary.json").read_text())
        records = [json.loads(x) for x in (out / "probe.jsonl").read_text().splitlines()]
    tokens = sum(r["tokens"] for r in records)
    print(f"\n{len(records)} replies ({args.prompts} prompts x {args.samples} samples x {len(summary['settings'])} "
          f"settings), {tokens} new tokens")
    print(f"whole command {seconds:.1f} s (model load and generation {summary['generation_seconds']:.1f} s, "
          f"{tokens / summary['generation_seconds']:.1f} new tokens/s); bar <= {BAR_S:.0f} s")
    for s in summary["settings"]:
        print(f"  {s['setting_id']}: stop {s['stop_rate']:.0%}, loop {s['loop_rate']:.0%}, "
              f"median {s['median_words']} words")
    ok = seconds <= BAR_S
    print("bar met" if ok else f"MISSED: {seconds:.1f} s > {BAR_S:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
