"""`intone sample`, `chat` and `merge`: the commands that load a trained run. Nothing heavy is
imported at module level."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intone.errors import EXIT_ERROR, EXIT_OK


def register(sub) -> None:
    gen = argparse.ArgumentParser(add_help=False)
    gen.add_argument("--temperature", type=float, default=0.7, help="0 for greedy (default: 0.7)")
    gen.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling (default: 0.95)")
    gen.add_argument("--top-k", type=int, default=64, help="sample from the k likeliest tokens (default: 64)")
    gen.add_argument("--repetition-penalty", type=float, default=1.0, help="(default: 1.0, off)")
    gen.add_argument("--min-new-tokens", type=int, default=1, help="(default: 1)")
    gen.add_argument("--max-new-tokens", type=int, default=256, help="(default: 256)")
    gen.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    gen.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    gen.add_argument("--base", action="store_true", help="also show the untuned model's answer")
    gen.add_argument("--system", help="system text put before the first user turn")
    gen.add_argument("--exact", action="store_true",
                     help="on the CPU, decode with the fp32 weights only, not their int8 / 4-bit copies "
                          "(slower; see README, Generation)")

    sample = sub.add_parser("sample", parents=[gen], help="generate replies from a trained run")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--batch-size", type=int, default=8, help="prompts generated together (default: 8)")
    what = sample.add_mutually_exclusive_group(required=True)
    what.add_argument("--prompt", action="append", help="a user message (repeatable)")
    what.add_argument("--prompts", metavar="FILE.jsonl", help='{"prompt": ...} or messages records')
    sample.set_defaults(func=cmd_sample)

    chat = sub.add_parser("chat", parents=[gen], help="talk to a trained run (/reset, /quit)")
    chat.add_argument("run_dir", metavar="RUN_DIR")
    chat.set_defaults(func=cmd_chat)

    merge = sub.add_parser("merge", help="merge the adapter into full weights (safetensors + tokenizer)")
    merge.add_argument("run_dir", metavar="RUN_DIR")
    merge.add_argument("--out", required=True, metavar="DIR")
    merge.set_defaults(func=cmd_merge)


# ---------------------------------------------------------------------------- sample / chat


def _options(args):
    import math

    from intone.errors import UsageError
    from intone.train.sample import GenerationOptions

    checks = [
        ("--temperature", args.temperature, 0, None), ("--top-p", args.top_p, 0, 1),
        ("--repetition-penalty", args.repetition_penalty, 0, None),
    ]
    for flag, value, low, high in checks:
        if not math.isfinite(value) or value < low or (high is not None and value > high) or (
            flag != "--temperature" and value == 0
        ):
            bound = f"in (0, {high}]" if high else ("0 or more" if flag == "--temperature" else "greater than 0")
            raise UsageError(f"{flag} {value}: must be a finite number {bound}")
    if args.max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens {args.max_new_tokens}: must be at least 1")
    if args.top_k < 0 or args.min_new_tokens < 0 or args.min_new_tokens > args.max_new_tokens:
        raise UsageError("--top-k and --min-new-tokens must be 0 or more, and --min-new-tokens at most --max-new-tokens")
    if getattr(args, "batch_size", 1) < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    return GenerationOptions(
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, repetition_penalty=args.repetition_penalty,
        min_new_tokens=args.min_new_tokens, max_new_tokens=args.max_new_tokens, seed=args.seed,
    )


def _load(args):
    from intone.errors import UsageError
    from intone.train.device import DeviceError, prepare_environment, probe, select_device
    from intone.train.model import ModelError
    from intone.train.sample import load_for_generation

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such run folder")
    prepare_environment(args.device)
    try:
        device = select_device(args.device, probe())
        return load_for_generation(run_dir, None, device, int8=hasattr(args, "exact") and not args.exact)
    except (ModelError, DeviceError) as exc:
        raise UsageError(str(exc)) from None


def _with_system(args, turns):
    return ((("system", args.system),) if args.system else ()) + tuple(turns)


def cmd_sample(args: argparse.Namespace) -> int:
    import time

    from intone.train.sample import generate_batch, read_prompts

    opts = _options(args)
    if args.prompts:
        path = Path(args.prompts)
        if not path.is_file():
            from intone.errors import UsageError

            raise UsageError(f"--prompts {path}: no such file")
        skipped: list[str] = []
        prompts = read_prompts(path, warn=skipped.append)
        for message in skipped:
            print(f"intone: warning: {message}", file=sys.stderr)
    else:
        skipped = []
        prompts = [("--prompt", (("user", text),)) for text in args.prompt]
    loaded = _load(args)
    progress = len(prompts) > 1
    started, new_tokens = time.perf_counter(), 0
    shown = 0
    for first in range(0, len(prompts), args.batch_size):
        chunk = prompts[first : first + args.batch_size]
        conversations = [_with_system(args, turns) for _, turns in chunk]
        tuned = generate_batch(loaded, conversations, opts)
        base = generate_batch(loaded, conversations, opts, base=True) if args.base else None
        new_tokens += sum(r.tokens for r in tuned) + sum(r.tokens for r in base or [])
        for i, (_where, turns) in enumerate(chunk):
            if shown:
                print()
            shown += 1
            if len(prompts) > 1 or args.base:
                print(f"> {turns[-1][1]}")
            if base is not None:
                print(f"[tuned]\n{tuned[i].text}")
                sys.stdout.flush()
                print(_reply_note(tuned[i], opts), file=sys.stderr)
                print(f"[base]\n{base[i].text}")
                sys.stdout.flush()
                print(_reply_note(base[i], opts), file=sys.stderr)
            else:
                print(tuned[i].text)
                sys.stdout.flush()
                print(_reply_note(tuned[i], opts), file=sys.stderr)
        sys.stdout.flush()
        if progress:
            seconds = time.perf_counter() - started
            done = min(first + args.batch_size, len(prompts))
            eta = seconds / done * (len(prompts) - done)
            print(f"sample: {done}/{len(prompts)} prompts, {new_tokens} new tokens, "
                  f"{new_tokens / seconds:.1f} tokens/s, ETA {eta:.0f} s", file=sys.stderr)
    if skipped:  # the usable prompts were answered; the exit code still says the file has bad lines
        print(f"intone: error: {len(skipped)} line(s) of --prompts {args.prompts} skipped (see the warnings above)",
              file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _reply_note(reply, opts) -> str:
    """The line under each reply (stderr): its length and whether it ended by itself."""
    from intone.lint.text import word_count

    how = "stopped at end of turn" if reply.stopped else f"cut at --max-new-tokens {opts.max_new_tokens}"
    return f"({word_count(reply.text)} words, {reply.tokens} tokens, {how})"


def cmd_chat(args: argparse.Namespace) -> int:
    from intone.train.sample import generate_batch

    opts = _options(args)
    loaded = _load(args)
    history: list[tuple[str, str]] = []
    interactive = sys.stdin.isatty()
    if interactive:
        print("Chatting with the tuned model. /reset clears the conversation, /quit or Ctrl-D leaves.", file=sys.stderr)

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    while True:
        try:
            text = input("you> " if interactive else "")
        except EOFError:
            break
        if not text.strip():
            continue
        if text.strip() in ("/quit", "/exit"):
            break
        if text.strip() == "/reset":
            history.clear()
            continue
        history.append(("user", text))
        messages = _with_system(args, history)
        if args.base:
            show("[tuned] ")
        elif interactive:
            show("model> ")
        reply = generate_batch(loaded, [messages], opts, on_text=show)[0]
        show("\n")
        if args.base:
            show("[base]  ")
            generate_batch(loaded, [messages], opts, base=True, on_text=show)
            show("\n")
        history.append(("assistant", reply.text))
    return EXIT_OK


# ---------------------------------------------------------------------------- merge


def cmd_merge(args: argparse.Namespace) -> int:
    import shutil

    from intone.errors import UsageError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; name a new folder for the merged model, e.g. --out merged")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: folder exists and is not empty; choose another")
    if not out.resolve().name or out.resolve() == Path.cwd().resolve():
        raise UsageError(f"--out {args.out}: is the current folder; name a new folder for the merged model, "
                         "e.g. --out merged")
    out = out.resolve()
    from intone.train.export import merged_weights, save_merged

    loaded = _load(argparse.Namespace(run_dir=args.run_dir, device="cpu"))
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save_merged(merged_weights(loaded), loaded.tokenizer.folder, tmp)
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    files = ", ".join(sorted(p.name for p in out.iterdir()))
    print(f"merged weights written to {out}: {files}")
    return EXIT_OK
