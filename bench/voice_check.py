"""Does the tuned voice work? Stop rate, loops, length and end-of-turn probability.

With every default, `intone train data/persona.jsonl --eval data/eval.jsonl` must give an
adapter for which, on the 15 eval prompts at temperature 0.7, top-p 0.95, max-new-tokens 256,
seeds 0-2:
- at least 90% of replies end at <end_of_turn> (or eos) before the limit;
- at least 90% of replies have under 10% repeated word 4-grams;
- the median reply length lies inside the training answers' p10-p90 word band;
- teacher-forced on the training answers, the median P(<end_of_turn>) at the positions where
  the data ends a turn is at least 0.5.
Prints each figure (and the base model's, for comparison) and exits 1 on a miss.

    python bench/voice_check.py                  # trains with all defaults first (~15 min on 2 cores)
    python bench/voice_check.py --run RUN_DIR    # checks an existing run (--exact: fp32 decoding only)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARS = {"stop_rate": 0.9, "no_loop_rate": 0.9, "p_end_of_turn": 0.5}


def train_default(data: Path, eval_file: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    command = [str(Path(sys.executable).parent / "intone"), "train", str(data), "--eval", str(eval_file), "--out", str(out)]
    print("$", " ".join(command), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)


def end_of_turn_probabilities(loaded, data: Path, *, base: bool = False) -> list[float]:
    from intone.train.data import collate, encode, read_conversations
    from intone.train.loss import token_probabilities
    from intone.train.sample import run_config

    records, _ = read_conversations(data)
    cfg = run_config(ARGS.run)
    examples = encode(records, loaded.tokenizer, loaded.template, max_length=cfg.max_length, train_on=cfg.train_on).examples
    end = loaded.tokenizer.token_id(loaded.template.end_of_turn)
    model = loaded.model
    out: list[float] = []
    if base:
        model.unmerge_adapter()
        switch = model.disable_adapter()
    else:
        import contextlib

        switch = contextlib.nullcontext()
    with switch:
        for start in range(0, len(examples), 8):
            batch = collate(examples[start : start + 8], loaded.pad_id)
            out += token_probabilities(model, batch, end)
    if base:
        model.merge_adapter()
    return out


def main() -> int:
    from intone.lint.text import quantile, word_count
    from intone.train.data import read_conversations
    from intone.train.measure import measure_reply
    from intone.train.sample import GenerationOptions, generate_batch, load_for_generation, read_prompts

    if ARGS.run is None:
        ARGS.run = ROOT / "bench" / "out" / "voice-run"
        train_default(ARGS.data, ARGS.eval, ARGS.run)
    started = time.perf_counter()
    loaded = load_for_generation(ARGS.run, None, "cpu", int8=not ARGS.exact)
    print(f"loaded {ARGS.run} in {time.perf_counter() - started:.1f} s")

    records, _ = read_conversations(ARGS.data)
    lengths = sorted(word_count(c) for _, m in records for r, c in m if r == "assistant")
    band = (quantile(lengths, 0.1), quantile(lengths, 0.9))
    prompts = [turns for _, turns in read_prompts(ARGS.eval)]
    replies = []
    gen_tokens, gen_seconds = 0, 0.0
    for seed in ARGS.seeds:
        opts = GenerationOptions(temperature=0.7, top_p=0.95, max_new_tokens=256, seed=seed)
        for first in range(0, len(prompts), ARGS.batch_size):
            chunk = prompts[first : first + ARGS.batch_size]
            t = time.perf_counter()
            out = generate_batch(loaded, chunk, opts)
            gen_seconds += time.perf_counter() - t
            gen_tokens += sum(r.tokens for r in out)
            for turns, reply in zip(chunk, out):
                replies.append((seed, turns[-1][1], reply, measure_reply(reply.text, reply.tokens, reply.stopped)))
        print(f"seed {seed}: {len(prompts)} replies", flush=True)

    measures = [m for *_, m in replies]
    stop_rate = sum(m.stopped for m in measures) / len(measures)
    no_loop_rate = sum(m.repeated_4gram_share < 0.10 for m in measures) / len(measures)
    words = sorted(m.words for m in measures)
    median_words = quantile(words, 0.5)
    tuned_p = sorted(end_of_turn_probabilities(loaded, ARGS.data))
    base_p = sorted(end_of_turn_probabilities(loaded, ARGS.data, base=True))
    p_end = quantile(tuned_p, 0.5)

    print("\nReplies (seed 0):")
    for seed, prompt, reply, m in replies[: len(prompts)]:
        flag = "stopped" if m.stopped else "HIT THE LIMIT"
        print(f"> {prompt}\n  {reply.text.strip()}\n  [{m.words} words, {m.tokens} tokens, {flag}, "
              f"repeated 4-grams {m.repeated_4gram_share:.0%}]")

    results = [
        ("replies ending at <end_of_turn>/eos", f"{stop_rate:.0%} ({sum(m.stopped for m in measures)}/{len(measures)})",
         ">= 90%", stop_rate >= BARS["stop_rate"]),
        ("replies with < 10% repeated word 4-grams", f"{no_loop_rate:.0%}", ">= 90%", no_loop_rate >= BARS["no_loop_rate"]),
        ("median reply length (words)", f"{median_words:.0f} (replies {words[0]}-{words[-1]})",
         f"in training p10-p90 {band[0]:.0f}-{band[1]:.0f}", band[0] <= median_words <= band[1]),
        ("median P(<end_of_turn>) teacher-forced, tuned", f"{p_end:.3f} over {len(tuned_p)} turn ends", ">= 0.5",
         p_end >= BARS["p_end_of_turn"]),
        ("  the same, base model", f"{quantile(base_p, 0.5):.4f}", "", True),
        ("generation", f"{gen_tokens} new tokens in {gen_seconds:.1f} s = {gen_tokens / gen_seconds:.1f} tokens/s "
         f"(batch {ARGS.batch_size})", "", True),
    ]
    print("\n| figure | value | bar | ok |\n| --- | --- | --- | --- |")
    for name, value, bar, ok in results:
        print(f"| {name} | {value} | {bar} | {'ok' if ok else 'MISSED'} |" if bar else f"| {name} | {value} | | |")
    summary = {"stop_rate": stop_rate, "no_loop_rate": no_loop_rate, "median_words": median_words, "band": band,
               "p_end_of_turn": p_end, "p_end_of_turn_base": quantile(base_p, 0.5),
               "tokens_per_s": gen_tokens / gen_seconds, "run": str(ARGS.run)}
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "voice_check.json").write_text(json.dumps(summary, indent=2))
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a run folder to check (default: train one with all defaults)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "persona.jsonl")
    parser.add_argument("--eval", type=Path, default=ROOT / "data" / "eval.jsonl")
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--exact", action="store_true", help="decode in fp32 only (intone sample --exact)")
    ARGS = parser.parse_args()
    sys.exit(main())
