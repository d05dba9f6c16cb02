"""Generation speed of a trained run on this machine: one reply, and a batch of 8.

Each reply is made to generate exactly --tokens new tokens (min-new-tokens = max-new-tokens), at
temperature 0.7, top-p 0.95, top-k 64, so the figures do not depend on where a reply stops.
Measured with the adapter merged into the weights (what `intone sample` and `chat` do) and,
with --unmerged, also with PEFT's LoRA branches running on every token.

Bars: one reply >= 25 new tokens/s; a batch of 8 >= 80 new tokens/s in aggregate. Exit 1 on a miss.

    python bench/sample_speed.py --run RUN_DIR [--tokens 100] [--unmerged]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARS = {1: 25.0, 8: 80.0}


def measure(run: Path, merge: bool, tokens: int) -> dict[int, float]:
    from intone.train.sample import GenerationOptions, generate_batch, load_for_generation, read_prompts

    started = time.perf_counter()
    loaded = load_for_generation(run, None, "cpu", merge=merge)
    print(f"{'merged' if merge else 'unmerged'}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
    prompts = [turns for _, turns in read_prompts(ROOT / "data" / "eval.jsonl")]
    opts = GenerationOptions(temperature=0.7, top_p=0.95, max_new_tokens=tokens, min_new_tokens=tokens, seed=0)
    generate_batch(loaded, prompts[:1], GenerationOptions(max_new_tokens=4, min_new_tokens=4))  # warm-up
    rates = {}
    for size in BARS:
        started = time.perf_counter()
        replies = generate_batch(loaded, prompts[:size], opts)
        seconds = time.perf_counter() - started
        new = sum(r.tokens for r in replies)
        rates[size] = new / seconds
        print(f"  batch {size}: {new} new tokens in {seconds:.1f} s = {rates[size]:.1f} tokens/s "
              f"(bar >= {BARS[size]:.0f})", flush=True)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a run folder of `intone train`")
    parser.add_argument("--tokens", type=int, default=100, help="new tokens per reply (default: 100)")
    parser.add_argument("--unmerged", action="store_true", help="also measure without merging the adapter")
    args = parser.parse_args()
    if args.unmerged:
        measure(args.run, False, args.tokens)
    rates = measure(args.run, True, args.tokens)
    ok = all(rates[size] >= bar for size, bar in BARS.items())
    print("all bars met" if ok else "MISSED: " + ", ".join(
        f"batch {size} {rates[size]:.1f} < {bar:.0f}" for size, bar in BARS.items() if rates[size] < bar))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
