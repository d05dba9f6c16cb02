"""The real 270M GGUF round trip: export a trained run as f16 and q8_0, read each file back with
transformers (the loader intone uses for the embedded model) and compare greedy tokens with the
merged PyTorch model on three prompts (data/eval.jsonl), 20 tokens each.

Bars: f16 gives the same greedy tokens on every prompt; q8_0's top-1 token (given the merged
model's tokens so far) agrees on >= 95% of positions. Also printed: file sizes, export and load
times, and whether the GGUF's own tokenizer encodes the prompts as intone does. Exit 1 on a miss.

    python bench/gguf_roundtrip.py [--run runs/demo/adapter-run] [--out bench/out/gguf] [--tokens 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Q8_BAR = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo" / "adapter-run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "gguf")
    parser.add_argument("--tokens", type=int, default=20)
    args = parser.parse_args()

    from intone.cli import main as intone
    from intone.train.export import merged_weights
    from intone.train.gguf_export import greedy_tokens, load_gguf_model, top1_matches
    from intone.train.sample import load_for_generation, read_prompts
    from intone.train.template import prompt_ids

    started = time.perf_counter()
    loaded = load_for_generation(args.run, None, "cpu")
    merged = merged_weights(loaded)
    prompts = [turns for _, turns in read_prompts(ROOT / "data" / "eval.jsonl")][:3]
    ids = [prompt_ids(loaded.tokenizer, loaded.template, turns) for turns in prompts]
    reference = [greedy_tokens(merged, p, args.tokens) for p in ids]
    print(f"merged PyTorch model: loaded and {len(prompts)} x {args.tokens} greedy tokens in "
          f"{time.perf_counter() - started:.1f} s")
    for turns, tokens in zip(prompts, reference, strict=True):
        print(f"  > {turns[-1][1]}\n    {loaded.tokenizer.decode(tokens, skip_special_tokens=False)!r}")
    del merged

    ok = True
    files = {}
    for qtype in ("f16", "q8_0"):
        folder = args.out / qtype
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()) as said:
            code = intone(["export-model", str(args.run), "--format", "gguf", "--type", qtype, "--out", str(folder),
                           "--force"])
        export_s = time.perf_counter() - started
        if code != 0:
            print(f"{qtype}: export-model exited {code}")
            return 1
        target = next(folder.glob("*.gguf"))
        files[qtype] = target
        started = time.perf_counter()
        model = load_gguf_model(target)
        load_s = time.perf_counter() - started
        greedy = [greedy_tokens(model, p, args.tokens) for p in ids]
        same = sum(g == r for g, r in zip(greedy, reference, strict=True))
        matches = [m for p, r in zip(ids, reference, strict=True) for m in top1_matches(model, p, r)]
        agree = sum(matches) / len(matches)
        first = said.getvalue().splitlines()[0]
        print(f"{qtype}: {target.stat().st_size / 1e6:.1f} MB; export {export_s:.1f} s (whole command); "
              f"transformers load {load_s:.1f} s")
        print(f"  {first}")
        print(f"  greedy tokens identical on {same}/{len(ids)} prompts; top-1 agreement "
              f"{sum(matches)}/{len(matches)} = {agree:.1%}")
        for g, r in zip(greedy, reference, strict=True):
            if g != r:
                at = next(i for i, (a, b) in enumerate(zip(g, r)) if a != b)
                print(f"    first difference at token {at}: {loaded.tokenizer.decode(g, skip_special_tokens=False)!r}")
        if qtype == "f16" and same != len(ids):
            print("  MISSED: f16 greedy tokens must be identical on every prompt")
            ok = False
        if qtype == "q8_0" and agree < Q8_BAR:
            print(f"  MISSED: q8_0 top-1 agreement {agree:.1%} < {Q8_BAR:.0%}")
            ok = False
        del model

    from transformers import AutoTokenizer

    started = time.perf_counter()
    target = files["f16"]
    tok = AutoTokenizer.from_pretrained(str(target.parent), gguf_file=target.name)
    load_s = time.perf_counter() - started
    same = sum(tok(loaded.template.prompt(turns), add_special_tokens=False)["input_ids"] == p
               for turns, p in zip(prompts, ids, strict=True))
    chat = tok.apply_chat_template([{"role": r, "content": c} for r, c in prompts[0]], tokenize=False,
                                   add_generation_prompt=True)
    print(f"GGUF tokenizer (transformers, {load_s:.1f} s to build): prompts encoded as intone does: "
          f"{same}/{len(prompts)}; embedded chat template renders intone's prompt: {chat == loaded.template.prompt(prompts[0])}")
    if same != len(prompts):
        ok = False
    print("bars: f16 greedy identical on every prompt; q8_0 top-1 >= 95%:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
