"""Generation speed of a trained run on this machine: one reply, and a batch of 8, side by side.

Each reply is made to generate exactly --tokens new tokens (min-new-tokens = max-new-tokens), at
temperature 0.7, top-p 0.95, top-k 64, so the figures do not depend on where a reply stops.
Three ways, alternated over --rounds rounds (the median is printed), all with the adapter merged:

  intone        intone's decoder (train/decode.py); up to 8 rows use int8 layers and the
                4-bit-screened head (train/products.py)
  intone-fp32   the same decoder with fp32 weights only (`--exact` on sample and chat)
  transformers  transformers' generate() on the same merged model (the path for other models)

With --unmerged, also PEFT's LoRA branches running on every token (transformers' generate()).
Then the distance of the quantized weights (int8 layers, screened head) from fp32: on each eval
prompt, teacher-forced on fp32's greedy reply, the mean KL(fp32 || quantized) per token and how
often the two pick the same top token.

Bars: one reply >= 25 new tokens/s; a batch of 8 >= 80 new tokens/s in aggregate, for intone.
Exit 1 on a miss.

    python bench/sample_speed.py --run RUN_DIR [--tokens 100] [--rounds 2] [--unmerged]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARS = {1: 25.0, 8: 80.0}
WAYS = ("intone", "intone-fp32", "transformers")


def rate(loaded, prompts, size: int, tokens: int) -> float:
    from intone.train.sample import GenerationOptions, generate_batch

    opts = GenerationOptions(temperature=0.7, top_p=0.95, max_new_tokens=tokens, min_new_tokens=tokens, seed=0)
    started = time.perf_counter()
    replies = generate_batch(loaded, prompts[:size], opts)
    return sum(r.tokens for r in replies) / (time.perf_counter() - started)


def way(loaded, name: str, decoder):
    """Set `loaded` up to generate the way `name` says."""
    loaded.decoder = None if name == "transformers" else decoder
    if decoder is not None:
        decoder.quantized = name == "intone" and decoder.has_int8
    return loaded


def distance(loaded, decoder, prompts) -> tuple[float, float, float]:
    """Mean KL(fp32 || quantized) per token and top-1 agreement, and, for the head's screen alone,
    how often the 64 best tokens are fp32's set (what top-k 64 sampling draws from); teacher-forced
    on fp32's greedy replies."""
    import torch

    from intone.train import products
    from intone.train.decode import Cache
    from intone.train.sample import GenerationOptions, generate_batch
    from intone.train.template import prompt_ids

    way(loaded, "intone-fp32", decoder)
    kls, same, same64 = [], [], []
    for turns in prompts:
        reply = generate_batch(loaded, [turns], GenerationOptions(temperature=0, max_new_tokens=40))[0]
        ids = prompt_ids(loaded.tokenizer, loaded.template, turns) + loaded.tokenizer.encode_batch([reply.text])[0]
        x = torch.tensor([ids])
        pos = torch.arange(len(ids))[None]
        present = torch.ones_like(x, dtype=torch.bool)
        decoder.quantized = False
        exact = decoder.forward(x, pos, Cache(decoder, 1, len(ids), present), last_only=False)[0]
        limits = products.INT8_MAX_ROWS, products.SCREEN_MAX_ROWS
        decoder.quantized, products.INT8_MAX_ROWS, products.SCREEN_MAX_ROWS = True, len(ids), len(ids)  # all rows
        approx = decoder.forward(x, pos, Cache(decoder, 1, len(ids), present), last_only=False, int8=True)[0]
        products.INT8_MAX_ROWS, products.SCREEN_MAX_ROWS = limits
        p, q = torch.log_softmax(exact, -1), torch.log_softmax(approx, -1)
        kls.extend((p.exp() * (p - q)).sum(-1).tolist())
        same.extend((exact.argmax(-1) == approx.argmax(-1)).tolist())
        # the head's screen alone: fp32 layers, screened head; are the 64 best tokens the same set?
        products.INT8_MAX_ROWS, products.SCREEN_MAX_ROWS = 0, len(ids)
        screened = decoder.forward(x, pos, Cache(decoder, 1, len(ids), present), last_only=False, int8=True)[0]
        products.INT8_MAX_ROWS, products.SCREEN_MAX_ROWS = limits
        best = exact.topk(64, -1).indices.sort(-1).values, screened.topk(64, -1).indices.sort(-1).values
        same64.extend((best[0] == best[1]).all(-1).tolist())
    return statistics.fmean(kls), sum(same) / len(same), sum(same64) / len(same64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a run folder of `intone train`")
    parser.add_argument("--tokens", type=int, default=100, help="new tokens per reply (default: 100)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three ways, alternated (default: 2)")
    parser.add_argument("--unmerged", action="store_true", help="also measure without merging the adapter")
    args = parser.parse_args()

    from intone.train.sample import GenerationOptions, generate_batch, load_for_generation, read_prompts

    prompts = [turns for _, turns in read_prompts(ROOT / "data" / "eval.jsonl")]
    if args.unmerged:
        loaded = load_for_generation(args.run, None, "cpu", merge=False)
        for size in BARS:
            print(f"transformers, adapter unmerged: batch {size}: {rate(loaded, prompts, size, args.tokens):.1f} "
                  "tokens/s", flush=True)
        del loaded
    started = time.perf_counter()
    loaded = load_for_generation(args.run, None, "cpu")
    print(f"loaded (merged, quantized copies taken) in {time.perf_counter() - started:.1f} s", flush=True)
    decoder = loaded.decoder
    decoder.has_int8 = decoder.quantized
    generate_batch(loaded, prompts[:1], GenerationOptions(max_new_tokens=4, min_new_tokens=4))  # warm-up
    rates: dict[tuple[str, int], list[float]] = {}
    for round_ in range(args.rounds):
        for name in WAYS:
            for size in BARS:
                value = rate(way(loaded, name, decoder), prompts, size, args.tokens)
                rates.setdefault((name, size), []).append(value)
                print(f"  round {round_ + 1}: {name:<12} batch {size}: {value:5.1f} tokens/s", flush=True)
    print(f"\n{args.tokens} new tokens per reply, median of {args.rounds} rounds (tokens/s):")
    print(f"{'':<14}{'batch 1':>9}{'batch 8':>9}")
    for name in WAYS:
        print(f"{name:<14}" + "".join(f"{statistics.median(rates[name, size]):>9.1f}" for size in BARS))
    if decoder.has_int8:
        kl, top1, top64 = distance(loaded, decoder, prompts)
        print(f"quantized vs fp32, teacher-forced on {len(prompts)} greedy replies: mean KL {kl:.4f} nats/token, "
              f"same top token {top1:.1%}; the head's screen alone keeps fp32's 64 best tokens at {top64:.1%}")
    got = {size: statistics.median(rates["intone", size]) for size in BARS}
    ok = all(got[size] >= bar for size, bar in BARS.items())
    print("all bars met" if ok else "MISSED: " + ", ".join(
        f"batch {size} {got[size]:.1f} < {bar:.0f}" for size, bar in BARS.items() if got[size] < bar))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
