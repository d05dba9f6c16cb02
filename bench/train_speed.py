"""Time per epoch: intone's LoRA trainer against the founding project's recipe, on this CPU.

The founding recipe: full fine-tune in fp32, every example padded to 512 tokens, loss on the
whole sequence (prompt included), HF Trainer, batch 4, lr 5e-5. intone: its defaults (LoRA
r=16 on attention and MLP projections, length-grouped dynamic padding, loss and logits only
on assistant tokens, batch 4).

Both sides train on the same examples (the training split `intone train` would use) of the same
model (the embedded Gemma 3 270M), each in its own subprocess so that peak RSS is its own.
The founding recipe is measured over --seed-steps optimiser steps after one warm-up step and
extrapolated by its steps per epoch; intone is measured over a whole epoch (>= 10 steps), also
after one warm-up step, and then evaluated on the held-out split (loss per assistant token).

Bar: intone's time per epoch is at least 10x lower. Exit 1 when missed.

    python bench/train_speed.py [--data data/persona.jsonl] [--seed-steps 10] [--reuse-seed]

Each side's figures are also saved to bench/out/<side>.json; --reuse-seed takes the founding
recipe's from there instead of spending another ~10 minutes re-measuring unchanged code.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BAR = 10.0
ROOT = Path(__file__).resolve().parent.parent


def load_examples(data: Path):
    from intone.train.config import TrainConfig
    from intone.train.data import encode, read_conversations, split_holdout
    from intone.train.model import resolve_model, tokenizer_folder
    from intone.train.template import TextTokenizer, template_for

    cfg = TrainConfig()
    source = resolve_model(cfg.model)
    tokenizer = TextTokenizer(tokenizer_folder(source))
    template = template_for(tokenizer)
    records, _ = read_conversations(data)
    train, valid = split_holdout(records, cfg.val_fraction, cfg.seed)
    kwargs = {"max_length": cfg.max_length, "train_on": cfg.train_on}
    train_enc = encode(train, tokenizer, template, **kwargs).examples
    valid_enc = encode(valid, tokenizer, template, **kwargs).examples
    return cfg, source, tokenizer, train_enc, valid_enc


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- the founding recipe


def run_seed(data: Path, steps: int) -> dict:
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from intone.train.device import tune_allocator
    from intone.train.model import load_model, quiet_libraries

    tune_allocator()  # the same allocator setting as intone's side, so only the recipes differ
    _cfg, source, tokenizer, train, _ = load_examples(data)
    quiet_libraries()
    torch.manual_seed(0)
    model = load_model(source, "cpu", "float32")
    model.config.use_cache = False
    pad = tokenizer.token_id("<pad>")
    length = 512

    class Padded(torch.utils.data.Dataset):
        def __len__(self):
            return len(train)

        def __getitem__(self, i):
            ids = train[i].input_ids[:length]
            n = len(ids)
            input_ids = torch.tensor(ids + [pad] * (length - n))
            mask = torch.tensor([1] * n + [0] * (length - n))
            labels = input_ids.clone()  # the whole sequence, prompt included
            labels[mask == 0] = -100  # DataCollatorForLanguageModeling masks padding
            return {"input_ids": input_ids, "attention_mask": mask, "labels": labels, "real": n}

    real_tokens: list[int] = []

    def collate(items):
        real_tokens.append(sum(x.pop("real") for x in items))
        return {k: torch.stack([x[k] for x in items]) for k in items[0]}

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.t)

    args = TrainingArguments(
        output_dir=str(ROOT / "bench" / "out" / "seed-trainer"),
        per_device_train_batch_size=4,
        learning_rate=5e-5,
        max_steps=steps + 1,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        seed=0,
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Padded(), data_collator=collate, callbacks=[Clock()])
    trainer.train()
    measured = times[1:]
    per_step = sum(measured) / len(measured)
    per_epoch_steps = math.ceil(len(train) / 4)
    # real_tokens also counts batches the dataloader prefetched; take those of the measured steps
    tokens = sum(real_tokens[1 : 1 + len(measured)])
    return {
        "side": "founding recipe (full FT fp32, pad 512, HF Trainer, batch 4, lr 5e-5)",
        "measured_steps": len(measured),
        "s_per_step": per_step,
        "steps_per_epoch": per_epoch_steps,
        "s_per_epoch": per_step * per_epoch_steps,
        "tokens_per_s": tokens / sum(measured),
        "padded_tokens_per_s": 4 * length * len(measured) / sum(measured),
        "peak_rss_mb": peak_rss_mb(),
        "train_examples": len(train),
    }


# ---------------------------------------------------------------------------- intone


def run_intone(data: Path, out: Path) -> dict:
    import shutil

    from intone.train.device import probe, select_dtype
    from intone.train.loop import Trainer, setup_model
    from intone.train.model import load_model, trainable_token_ids
    from intone.train.template import template_for

    cfg, source, tokenizer, train, valid = load_examples(data)
    dtype = select_dtype(cfg.dtype, "cpu", probe())
    rows = [i for _, i in trainable_token_ids(cfg.train_tokens, tokenizer, template_for(tokenizer))]
    cfg.epochs = 1.0
    run_dir = out / "intone-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    model = setup_model(load_model(source, "cpu"), cfg, rows)
    trainer = Trainer(model, cfg, train, valid, run_dir=run_dir, device="cpu", pad_id=tokenizer.token_id("<pad>"),
                      dtype=dtype)
    before = trainer.evaluate()
    trainer.model.train()
    records = [trainer.train_step(step) for step in range(trainer.total)]
    steady = records[1:]  # the first step pays for allocator and cache warm-up, on both sides
    seconds = records[-1]["elapsed_s"] - records[0]["elapsed_s"]
    per_step = seconds / len(steady)
    after = trainer.evaluate()
    return {
        "side": f"intone (LoRA r=16 + turn-token rows, dynamic padding, assistant-only logits, batch 4, {dtype})",
        "measured_steps": len(steady),
        "s_per_step": per_step,
        "steps_per_epoch": trainer.per_epoch,
        "s_per_epoch": per_step * trainer.per_epoch,
        "epoch_wall_s": records[-1]["elapsed_s"],
        "tokens_per_s": sum(r["tokens"] for r in steady) / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "train_examples": len(train),
        "eval_examples": len(valid),
        "eval_loss_before": before,
        "eval_loss_after_1_epoch": after,
        "train_loss_first": records[0]["loss"],
        "train_loss_last": records[-1]["loss"],
    }


# ---------------------------------------------------------------------------- driver


def side(name: str, args) -> dict:
    saved = args.out / f"{name}.json"
    if name == "seed" and args.reuse_seed and saved.is_file():
        print(f"reusing {saved}", file=sys.stderr, flush=True)
        return json.loads(saved.read_text())
    cmd = [sys.executable, __file__, "--side", name, "--data", str(args.data), "--seed-steps", str(args.seed_steps),
           "--out", str(args.out)]
    print(f"running {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{name} side failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["subprocess_wall_s"] = time.perf_counter() - started
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    saved.write_text(json.dumps(result, indent=2))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "persona.jsonl")
    parser.add_argument("--seed-steps", type=int, default=10, help="measured optimiser steps of the founding recipe")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--reuse-seed", action="store_true", help="reuse bench/out/seed.json if present")
    parser.add_argument("--side", choices=("seed", "intone"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.side == "seed":
        print(json.dumps(run_seed(args.data, args.seed_steps)))
        return 0
    if args.side == "intone":
        print(json.dumps(run_intone(args.data, args.out)))
        return 0

    ours = side("intone", args)
    seed = side("seed", args)
    ratio = seed["s_per_epoch"] / ours["s_per_epoch"]
    print(f"bench/train_speed.py on {os.cpu_count()} CPU cores, data {args.data}, {ours['train_examples']} train examples")
    for r in (seed, ours):
        print(f"\n{r['side']}")
        print(f"  {r['measured_steps']} steps measured: {r['s_per_step']:.2f} s/step x {r['steps_per_epoch']} steps/epoch"
              f" = {r['s_per_epoch']:.0f} s/epoch ({r['s_per_epoch'] / 60:.1f} min)")
        print(f"  {r['tokens_per_s']:.1f} real tokens/s; peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"\nintone eval loss on assistant tokens ({ours['eval_examples']} held-out examples): "
          f"{ours['eval_loss_before']:.4f} before, {ours['eval_loss_after_1_epoch']:.4f} after 1 epoch")
    print(f"speed-up per epoch: {ratio:.1f}x (bar: >= {BAR:.0f}x) -> {'PASS' if ratio >= BAR else 'FAIL'}")
    (args.out / "train_speed.json").write_text(json.dumps({"seed": seed, "intone": ours, "ratio": ratio}, indent=2))
    return 0 if ratio >= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
