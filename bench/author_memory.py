"""How much memory `intone author` needs for a big file (1,000,000 small examples by default).

Bar: peak RSS at most 1.5 GB with the file open in the app and its whole-file lint done.
Each figure comes from a fresh process (ru_maxrss), so one measurement cannot inflate another.

  * model: the rows the editor keeps, as the loading worker builds them;
  * app: the app driven by Pilot until reading, lint and the near-duplicate index are done.

    .venv/bin/python bench/author_memory.py [--lines N] [--what model,app]

The file is generated once under bench/out/ (about 92 bytes a line, two-turn records shaped
like data/persona.jsonl's, with an id on some and tags on others).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BAR_BYTES = 1.5e9
WORDS = (
    "tide",
    "rope",
    "gull",
    "fog",
    "knot",
    "storm",
    "sail",
    "wave",
    "shell",
    "moon",
    "kettle",
    "story",
    "cloud",
    "pocket",
    "tea",
)


def write(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))).capitalize() + f" {i}?"
            answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))).capitalize() + "."
            record: dict = {
                "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
            }
            if i % 4 == 0:
                record["tags"] = ["chat"]
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def peak_rss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_model(path: Path) -> dict:
    from intone.authoring.model import rows_from_path

    started = time.perf_counter()
    rows = list(rows_from_path(path))
    return {"rows": len(rows), "seconds": time.perf_counter() - started, "peak_rss": peak_rss()}


async def measure_app(path: Path) -> dict:
    from intone.authoring.app import make_app

    started = time.perf_counter()
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.editor_screen
        while screen.busy:
            await pilot.pause(0.2)
        rows = len(screen.dataset.rows)
        app.exit()
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss": peak_rss()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--what", default="model,app")
    parser.add_argument("--once", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        path = Path(args.path)
        figures = measure_model(path) if args.once == "model" else asyncio.run(measure_app(path))
        print(json.dumps(figures))
        return 0
    path = HERE / "out" / f"author_mem_{args.lines}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, args.lines)
    size = path.stat().st_size
    print(f"{path.name}: {args.lines:,} lines, {size / 1e6:.0f} MB")
    ok = True
    for what in args.what.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--once", what, "--path", str(path)],
            capture_output=True,
            check=False,
            text=True,
        )
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            return 2
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rss = figures["peak_rss"]
        passed = what == "model" or rss <= BAR_BYTES
        ok &= passed
        print(
            f"  {what:<6} peak RSS {rss / 1e9:5.2f} GB ({rss / figures['rows']:,.0f} B/row), "
            f"{figures['seconds']:6.1f} s"
            + (f"   bar {BAR_BYTES / 1e9:.1f} GB  {'ok' if passed else 'MISSED'}" if what == "app" else "")
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
