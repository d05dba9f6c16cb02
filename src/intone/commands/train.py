"""`intone train` and `intone export` (splits and trainer configs). Nothing heavy is imported at
module level; `sample`, `chat` and `merge` are in commands/sample.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intone.errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK


def register(sub) -> None:
    from intone.train.config import add_arguments

    train = sub.add_parser(
        "train",
        help="LoRA-train a model on a dataset (lint preflight, exact token accounting)",
        description="LoRA-train a model on a JSONL dataset. Options: CLI > --config > [tool.intone.train] > defaults.",
    )
    train.add_argument("data", nargs="?", metavar="DATA.jsonl", help="training data (not needed with --resume)")
    train.add_argument("--model", help="'embedded' (Gemma 3 270M, default), a hub id, a local folder or a .gguf file")
    train.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<data>-<time>)")
    train.add_argument("--config", metavar="TOML", help="train.toml with any of the options below")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run where it stopped")
    add_arguments(train)
    train.set_defaults(func=cmd_train)

    export = sub.add_parser(
        "export", help="write seeded, leakage-free train/valid(/test) splits for mlx-lm, TRL, axolotl"
    )
    export.add_argument("data", metavar="DATA.jsonl")
    export.add_argument("--to", required=True, metavar="DIR")
    export.add_argument("--valid-fraction", type=float, default=0.1, help="(default: 0.1)")
    export.add_argument("--test-fraction", type=float, default=0.0, help="(default: 0, no test.jsonl)")
    export.add_argument("--seed", type=int, default=0, help="(default: 0)")
    export.add_argument(
        "--force", action="store_true",
        help="export even if the linter finds errors, and replace files already in --to (never the input)",
    )
    from intone.train.handoff import TRAINERS

    export.add_argument(
        "--for", dest="trainer", choices=TRAINERS, metavar="|".join(TRAINERS),
        help="also write a ready config for that trainer (intone's LoRA settings and loss mask; "
        "the command to run is at its top)",
    )
    export.add_argument(
        "--model", metavar="ID|PATH",
        help="model for the --for config (default: [tool.intone.train] model; embedded: google/gemma-3-270m-it)",
    )
    export.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------- train



def _cli_values(args: argparse.Namespace) -> dict:
    from intone.train.config import FIELDS

    return {name: getattr(args, name, None) for name in FIELDS}


def _train_config(args: argparse.Namespace):
    from intone.config import load_settings
    from intone.train.config import check, from_table

    cli = _cli_values(args)
    if args.resume:
        from intone.train.sample import run_config

        cfg = run_config(Path(args.resume))
        return check(from_table({k: v for k, v in cli.items() if v is not None}, "command line", cfg))
    from intone.train.config import load_config

    start = Path(args.data).resolve().parent if args.data else Path.cwd()
    settings = load_settings(start=start)
    where = f"{settings.source} [tool.intone.train]" if settings.source else "[tool.intone.train]"
    return load_config(cli, args.config, settings.train, where)


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from intone.errors import UsageError
    from intone.train.device import DeviceError, prepare_environment
    from intone.train.model import ModelError
    from intone.train.rundir import read_json_object, remove_failed_run

    started = time.perf_counter()
    if not args.data and not args.resume:
        raise UsageError("give DATA.jsonl to train on, or --resume RUN_DIR")
    cfg = _train_config(args)
    if args.resume:
        run_dir = Path(args.resume)
        manifest_file = run_dir / "manifest.json"
        manifest = read_json_object(manifest_file, "it is the run's record; restore it, or train again with --out") \
            if manifest_file.is_file() else {}
        if not (run_dir / "checkpoint" / "state.json").is_file():
            raise UsageError(f"{run_dir}: no checkpoint/ to resume from; train again with --out")
        if not (run_dir / "checkpoint" / "adapter.safetensors").is_file():
            raise UsageError(f"{run_dir}: its checkpoint was written by an older intone (pickled adapter.pt, which "
                             "intone no longer loads); train again with --out")
        data = Path(args.data or manifest.get("dataset", {}).get("path", ""))
        if manifest.get("dataset", {}).get("sha256") and data.is_file():
            from intone.train.preflight import file_sha256

            if file_sha256(data) != manifest["dataset"]["sha256"]:
                raise UsageError(f"{data}: changed since the run started (sha256 differs); the data order would not match")
    else:
        data = Path(args.data)
        run_dir = Path(args.out or f"runs/{data.stem}-{time.strftime('%Y%m%d-%H%M%S')}")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UsageError(f"--out {run_dir}: folder exists and is not empty; choose another, or --resume it")
    if not data.is_file():
        raise UsageError(f"{data}: no such file")
    prepare_environment(cfg.device)
    created = not run_dir.exists()
    code = EXIT_ERROR
    try:
        code = _train(args, cfg, data, run_dir, started)
        return code
    except (ModelError, DeviceError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        if created and code not in (EXIT_OK, EXIT_INTERRUPTED) and run_dir.exists():
            remove_failed_run(run_dir)  # a run that failed before saving weights leaves no --out behind


def _train(args, cfg, data: Path, run_dir: Path, started: float) -> int:
    import signal
    import time

    from intone.train import preflight
    from intone.train.device import probe, select_device, select_dtype
    from intone.train.loop import Trainer, setup_model
    from intone.train.model import (
        fingerprint,
        load_model,
        resolve_model,
        tokenizer_folder,
        trainable_token_ids,
    )
    from intone.train.rundir import BarReporter, plot_loss, read_json_object, versions, write_json_atomic
    from intone.train.template import TextTokenizer, template_for

    found = probe()
    device = select_device(cfg.device, found)
    dtype = select_dtype(cfg.dtype, device, found)
    source = resolve_model(cfg.model)
    tokenizer = TextTokenizer(tokenizer_folder(source))
    template = template_for(tokenizer)
    tokens = trainable_token_ids(cfg.train_tokens, tokenizer, template)
    why = "" if cfg.dtype != "auto" else (
        " (auto: this device has bf16)" if dtype == "bfloat16" else " (auto: no bf16 on this device)"
    )
    shown = ", ".join(t for t, _ in tokens) or "none"
    print(f"intone train: {data} on {source.display}, {device}, compute {dtype}{why}, template: {template.name}, "
          f"trained token rows: {shown}", file=sys.stderr)
    pre = preflight.run(data, cfg, tokenizer, template, f"tokenizer:{source.display}")
    if not pre.ok:
        return EXIT_FINDINGS
    preflight_s = time.perf_counter() - started

    load_started = time.perf_counter()
    model = setup_model(load_model(source, device), cfg, [i for _, i in tokens])
    load_s = time.perf_counter() - load_started
    pad_id = tokenizer.token_id(tokenizer.special.get("pad_token", "")) or 0
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(model, cfg, pre.train, pre.valid, run_dir=run_dir, device=device, pad_id=pad_id,
                      reporter=BarReporter(), dtype=dtype)
    resumed_from = None
    if args.resume:
        trainer.load_checkpoint()
        resumed_from = trainer.progress.step
    else:
        (run_dir / "config.toml").write_text(cfg.to_toml(), encoding="utf-8")
        (run_dir / "metrics.jsonl").write_text("")
    n_params = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    per_step = pre.counts["total_tokens"] / max(1, trainer.per_epoch)
    estimate = ""
    if device == "cpu":
        # Measured for LoRA on the 270M model on 2 cores: about 45 tokens/s in fp32 (AVX2), about
        # 100 under bf16 autocast (AVX512-BF16: 117 default steps, 49k tokens, in 8.1 min).
        rate = (100 if dtype == "bfloat16" else 45) * 268e6 / n_params
        estimate = f"; about {_minutes((trainer.total - trainer.progress.step) * per_step / rate)} on this CPU"
    print(
        f"plan: {trainer.total} steps ({trainer.per_epoch} per epoch, batch {cfg.batch_size} x accum "
        f"{cfg.grad_accum}), LoRA r={cfg.lora_r}: {n_trainable:,} of {n_params:,} parameters trained{estimate}"
        + (f"; resuming at step {resumed_from}" if resumed_from is not None else ""),
        file=sys.stderr,
    )

    manifest_path = run_dir / "manifest.json"
    old = read_json_object(manifest_path, "restore it, or train again with --out") \
        if args.resume and manifest_path.is_file() else {}
    manifest = {
        "intone_run": 1,
        "status": "running",
        "command": ["intone", *sys.argv[1:]] if sys.argv[0].endswith("intone") else sys.argv,
        "dataset": {"path": str(data), "sha256": preflight.file_sha256(data)},
        "eval": pre.eval_source,
        "lint": {"summary": pre.lint_summary, "warnings": pre.warnings},
        "model": fingerprint(source),
        "template": template.name,
        "versions": versions(),
        "device": {"device": device, "dtype": dtype, "weights": "float32",
                   "autocast": dtype == "bfloat16", "requested_dtype": cfg.dtype},
        "trained": {
            "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "targets": list(cfg.lora_targets)},
            "token_rows": [{"token": t, "id": i} for t, i in tokens],
            "tied_output_head": bool(getattr(model.get_base_model().config, "tie_word_embeddings", False)),
            "parameters": n_trainable,
        },
        "tokens": pre.counts,
        "steps": {"planned": trainer.total, "per_epoch": trainer.per_epoch},
        "timings": {"preflight_s": round(preflight_s, 2), "model_load_s": round(load_s, 2)},
        "resumed": old.get("resumed", []) + ([resumed_from] if resumed_from is not None else []),
    }
    write_json_atomic(manifest_path, manifest)

    def on_sigint(signum, frame):
        if trainer.stop.requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        trainer.stop.set()
        print("\nCtrl-C: finishing this step, then saving a checkpoint (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        outcome = trainer.fit()
    finally:
        signal.signal(signal.SIGINT, previous)
    if outcome == "done":
        trainer.save_checkpoint()  # lets `--resume --max-steps N` extend a finished run
    p = trainer.progress
    train_losses = [r["loss"] for r in p.history if "loss" in r]
    manifest.update(
        status=outcome,
        steps={"planned": trainer.total, "per_epoch": trainer.per_epoch, "done": p.step},
        final={"train_loss": train_losses[-1] if train_losses else None, "eval_loss": p.eval_loss},
    )
    manifest["tokens"].update(seen=p.tokens, trainable_seen=p.trainable_tokens)
    manifest["timings"].update(
        train_s=round(p.train_seconds, 2),
        total_s=round(time.perf_counter() - started, 2),
        tokens_per_s=round(p.tokens / p.train_seconds, 1) if p.train_seconds else None,
    )
    write_json_atomic(manifest_path, manifest)
    if p.history:
        plot_loss(p.history, run_dir / "loss.png")
    if outcome == "interrupted":
        print(f"Interrupted at step {p.step}/{trainer.total}; checkpoint saved in {run_dir}/checkpoint.", file=sys.stderr)
        print(f"Resume with:  intone train --resume {run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    final = f"eval loss {p.eval_loss:.4f}, " if p.eval_loss is not None else ""
    print(
        f"done: {p.step} steps in {_minutes(p.train_seconds)}, {final}train loss {train_losses[-1]:.4f}; "
        f"adapter in {run_dir}/adapter",
        file=sys.stderr,
    )
    print(f"Try it:  intone sample {run_dir} --prompt \"...\"", file=sys.stderr)
    return EXIT_OK


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


# ---------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    from intone.errors import UsageError
    from intone.train.export import ExportError, export

    data = Path(args.data)
    if not data.is_file():
        raise UsageError(f"{data}: no such file")
    if not (0 <= args.valid_fraction < 1 and 0 <= args.test_fraction < 1 and args.valid_fraction + args.test_fraction < 1):
        raise UsageError("--valid-fraction and --test-fraction must be in [0, 1) and sum to less than 1")
    try:
        return export(data, Path(args.to), valid=args.valid_fraction, test=args.test_fraction, seed=args.seed,
                      force=args.force, trainer=args.trainer, model=args.model)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
