"""`intone probe`: lint what a trained run says, over prompts and a grid of generation settings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from intone.errors import EXIT_OK

EPILOG = """\
prompts:
  JSONL, one record a line: {"prompt": "..."} or {"messages": [...]} ending with a user turn, or
  with an assistant turn (the reference answer, used for the length correlation). Optional:
    "expect": {"mention": ["Keepy Uppy"], "avoid": ["as an AI"], "words": [20, 80]}
  Default: the run's eval file, else the held-out split it recorded.

output (DIR, default RUN_DIR/probe-<time>):
  probe.jsonl   one reply a line: id, prompt_index, where, messages, reference, source
                (tuned|base|compare), run, setting_id, setting, sample, seed, reply, tokens, words,
                stopped, loop_share, distinct2, voice_distance, findings, copy {overlap, line},
                nearest [{line, overlap, answer}], expect {passed, failed}
  summary.json  training {words_p10, words_p90, voice_median, ...}; settings[]: setting_id,
                setting, best, score, verdict, stop_rate, loop_rate, copy_rate, band_share, ks,
                length_corr {pearson, spearman, pairs}, median_voice_distance, in_voice_rate,
                gap_closed (with --base), expect_pass_rate, flagged_rate, findings, openers,
                by_source {tuned, base, compare}; overall {source: ...};
                best {setting_id, setting, why}

measures:
  stop    share of replies that ended at end of turn (the rest hit max-new-tokens)
  loop    share whose repeated word 4-grams are >= 20% of their 4-grams
  copy    share sharing >= 60% of their word 3-grams with one training answer
  band    share inside the training answers' p10-p90 word band; KS: length distribution distance
  len r   Pearson r of reply length with the reference length across prompts (~0: collapse)
  voice   median style-drift score against the training voice (the training answers' own median
          is in the first line; off voice: beyond their p90); gap: share of base's voice gap
          the adapter closed (--base)

examples:
  intone probe runs/demo --grid temperature=0.6,0.9 repetition-penalty=1.0,1.15 --base
  intone probe runs/a --compare runs/b --html report.html
  intone probe --ratings runs/demo/probe-20260101-120000
"""


def register(sub) -> None:
    p = sub.add_parser(
        "probe", help="generate over prompts and settings, and lint the replies against the training voice",
        description="Generate replies from a trained run over prompts and a grid of generation settings,\n"
        "and measure them against the voice the run was trained on: stops, loops, copies,\nlengths, voice, expect.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR")
    p.add_argument("--prompts", metavar="FILE.jsonl", help="prompts (default: the run's eval file or held-out split)")
    p.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2",
                   help="settings to sweep: temperature, top-p, top-k, repetition-penalty, min-new-tokens, "
                   "max-new-tokens (default: intone sample's defaults)")
    p.add_argument("--samples", type=int, default=3, help="replies per prompt per setting (default: 3)")
    p.add_argument("--seed", type=int, default=0, help="first sampling seed (default: 0)")
    p.add_argument("--base", action="store_true", help="also generate with the adapter off (the base model)")
    p.add_argument("--compare", metavar="RUN_DIR2", help="a second run on the same base model, same prompts/seeds")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/probe-<time>)")
    p.add_argument("--html", metavar="REPORT.html", help="also write a self-contained HTML report")
    p.add_argument("--format", choices=("text", "json"), default="text", help="stdout: a table or summary.json")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--ratings", metavar="DIR", help="print the ratings summary of a reviewed probe folder")
    p.set_defaults(func=cmd_probe)


def cmd_probe(args: argparse.Namespace) -> int:
    import time

    from intone.errors import UsageError

    if args.ratings:
        return _ratings(Path(args.ratings))
    if not args.run_dir and args.grid and "=" not in args.grid[-1]:
        # `intone probe --grid temperature=0.6,0.9 RUN_DIR`: --grid takes several values, so
        # argparse hands it the run folder too; a last item without "=" is the folder.
        args.run_dir = args.grid.pop()
    if not args.run_dir:
        raise UsageError("give RUN_DIR to probe (or --ratings DIR)")
    if args.samples < 1:
        raise UsageError(f"--samples {args.samples}: must be at least 1")
    from intone.train import probe
    from intone.train.probe_measure import Measurer, summarize

    started = time.perf_counter()
    run_dir = Path(args.run_dir)
    info = probe.read_run(run_dir)
    settings = probe.parse_grid(args.grid)
    if args.prompts:
        prompts, prompt_source = probe.load_prompts(Path(args.prompts)), f"--prompts {args.prompts}"
    else:
        prompts, prompt_source = probe.default_prompts(info)
    sources = [("tuned", run_dir, False)] + ([("base", run_dir, True)] if args.base else [])
    if args.compare:
        other = probe.read_run(Path(args.compare), "--compare")
        probe.check_same_base(info, other)
        sources.append(("compare", Path(args.compare), False))
    out = Path(args.out) if args.out else run_dir / f"probe-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: exists and is not an empty folder; choose another")
    if args.html and not Path(args.html).resolve().parent.is_dir():
        raise UsageError(f"--html {args.html}: its folder does not exist")
    profile = probe.training_profile(info)
    if info.data_changed:
        print(f"intone: warning: {info.data} changed since {run_dir} was trained (sha256 differs); replies are "
              "measured against the file as it is now", file=sys.stderr)
    measurer = Measurer(profile, _settings(profile.path))

    jobs = probe.plan(prompts, settings, args.samples, args.seed, sources)
    total = sum(len(j.rows) for j in jobs)
    print(f"intone probe: {len(prompts)} prompts ({prompt_source}) x {len(settings)} setting(s) x {args.samples} "
          f"sample(s) x {len(sources)} source(s) = {total} replies", file=sys.stderr)
    progress = probe.Progress(total)
    gen_started = time.perf_counter()
    try:
        generated = probe.generate(jobs, lambda run: _load(run, args.device), progress)
    finally:
        progress.close()
    gen_seconds = time.perf_counter() - gen_started
    records = [measurer.record(g) for g in generated]
    meta = {
        "run": str(run_dir), "compare": args.compare,
        "prompts": {"source": prompt_source, "count": len(prompts),
                    "with_reference": sum(p.reference is not None for p in prompts),
                    "with_expect": sum(p.expect is not None for p in prompts)},
        "samples": args.samples, "seed": args.seed,
    }
    summary = summarize(records, measurer, settings, meta)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["generation_seconds"] = round(gen_seconds, 1)
    summary["out"] = str(out)
    _write(out, records, summary)
    if args.html:
        from intone.train.probe_report import write_report

        write_report(Path(args.html), records, summary, profile.answer_word_lengths())
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(format_table(summary))
        print(f"\nreplies: {out}/probe.jsonl; figures: {out}/summary.json"
              + (f"; report: {args.html}" if args.html else ""))
    return EXIT_OK


def _settings(path: str):
    from intone.config import load_settings

    return load_settings(start=Path(path).resolve().parent)


def _load(run: Path, device: str):
    from intone.errors import UsageError
    from intone.train.device import DeviceError, prepare_environment, probe, select_device
    from intone.train.model import ModelError
    from intone.train.sample import load_for_generation

    prepare_environment(device)
    try:
        return load_for_generation(run, None, select_device(device, probe()))
    except (ModelError, DeviceError) as exc:
        raise UsageError(str(exc)) from None


def _write(out: Path, records: list[dict], summary: dict) -> None:
    """probe.jsonl and summary.json into a temporary folder, renamed into place when complete."""
    import os
    import shutil

    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with open(tmp / "probe.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if out.is_dir():
            out.rmdir()  # checked empty before generating
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _pct(x) -> str:
    from intone.lint.text import percent  # (numpy: not on the CLI's start-up path)

    return percent(x)


def _num(x, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


LEGEND = (
    "stop: ended by itself · loop: >=20% repeated 4-grams · copy: >=60% of its 3-grams from one training answer\n"
    "band: inside the training p10–p90 words · KS: length-distribution distance · len r: follows reference "
    "lengths (~0: collapse)\nvoice: median style distance (lower is closer) · gap: share of base's voice gap "
    "closed · flag: voice-rule findings"
)


def format_table(summary: dict) -> str:
    """One row per setting (and source), the best marked with *, then each setting's verdict."""
    t = summary["training"]
    voice_ref = _num(t.get("voice_median"), ".1f")
    head = ["", "setting", "src", "stop", "loop", "copy", "band", "KS", "len r", "voice", "gap", "expect", "flag"]
    rows = []
    for e in summary["settings"]:
        for source, f in e["by_source"].items():
            rows.append([
                "*" if e["best"] and source == "tuned" else "", e["setting_id"], source, _pct(f["stop_rate"]),
                _pct(f["loop_rate"]), _pct(f["copy_rate"]), _pct(f["band_share"]), _num(f["ks"]),
                _num(f["length_corr"]["pearson"]), _num(f["median_voice_distance"], ".1f"),
                _pct(f["gap_closed"]), _pct(f["expect_pass_rate"]), _pct(f["flagged_rate"]),
            ])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    voice = (f"its own answers' voice distance {voice_ref} (median), off voice beyond "
             f"{_num(t.get('voice_p90'), '.1f')} (p90)" if t.get("voice_median") is not None
             else "voice not judged (too few answers of 12+ words)")
    lines = [
        (f"training: {t['answers']} answers, {_num(t['words_p10'], '.0f')}–{_num(t['words_p90'], '.0f')} words "
        f"(p10–p90); {voice}"),
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
    ]
    lines += ["  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in
                        enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
    lines.append(LEGEND)
    lines.append("")
    for e in summary["settings"]:
        mark = "* " if e["best"] else "  "
        lines.append(f"{mark}{e['setting_id']}: {e['verdict']}")
        if "compare_verdict" in e:
            lines.append(f"  {' ' * len(e['setting_id'])}  compare: {e['compare_verdict']}")
    lines.append(f"\nbest: {summary['best']['setting_id']}, {summary['best']['why'].split('; ')[0]}")
    return "\n".join(lines)


def _ratings(folder: Path) -> int:
    from intone.errors import UsageError

    if not (folder / "probe.jsonl").is_file():
        raise UsageError(f"--ratings {folder}: no probe.jsonl there; give the --out folder of `intone probe`")
    try:
        from intone.schemas.probe import format_ratings, ratings_summary
    except ImportError as exc:
        raise UsageError(f"--ratings: the ratings summary is not available in this build ({exc})") from None
    print(format_ratings(ratings_summary(folder)))
    return EXIT_OK
