"""`intone stats PATH`: the dataset's profile for a person (rich text), a browser (--html) or a
machine (--format json). Everything comes from one read of the file into a `DatasetProfile`,
the same profile the lint rules use. Heavy modules (rich, matplotlib) load inside the handler.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path
from typing import Any

TOP = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="profile a dataset: lengths, tokens, openers, markers, style outliers",
        description=(
            "Profile a JSONL dataset: counts and turns, token totals, answer and prompt length "
            "histograms, answer length by prompt type (tags), top openers and closers, marker "
            "shares and style outliers."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="a JSONL file")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--html", metavar="REPORT.html", help="also write a self-contained HTML report")
    parser.add_argument("--tokenizer", metavar="ID|PATH", help="count tokens exactly with this tokenizer")
    parser.add_argument("--config", metavar="FILE", help="config file (default: discovered)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys

    from intone.cli import UsageError, load_settings_for, make_counter

    path = Path(args.path)
    if not path.is_file():
        raise UsageError(f"{args.path}: no such file; give a .jsonl dataset")
    args.paths = [args.path]
    settings = load_settings_for(args)
    try:
        counter = make_counter(settings)
    except UsageError:
        raise
    except Exception as exc:  # the tokenizer loader's own errors are the user's input
        raise UsageError(f"--tokenizer {settings.tokenizer}: {exc}") from None
    data = collect(path, settings, counter)
    if args.html:
        target = Path(args.html)
        if target.resolve() == path.resolve():
            raise UsageError(f"{args.html}: refusing to overwrite the dataset; choose another report path")
        from intone.lint.report_html import write_html

        write_html(data, target)
        print(f"wrote {target}", file=sys.stderr)
    if args.format == "json":
        import json

        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        render_text(data)
    return 0


# ---------------------------------------------------------------------------- data


def _summary(values: list[int]) -> dict[str, Any]:
    if not values:
        return {
            "count": 0,
            "min": None,
            "p10": None,
            "median": None,
            "mean": None,
            "p90": None,
            "max": None,
            "cv": None,
        }
    s = sorted(values)
    n = len(s)
    mean = sum(s) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in s) / (n - 1)) if n > 1 else 0.0
    return {
        "count": n,
        "min": s[0],
        "p10": s[int(0.1 * (n - 1))],
        "median": _num(s[(n - 1) // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2),
        "mean": round(mean, 1),
        "p90": s[int(0.9 * (n - 1))],
        "max": s[-1],
        "cv": round(sd / mean, 3) if mean else None,
    }


def shown(value: Any, missing: str = "n/a") -> str:
    """A figure for a person: `missing` where there is none (no answers, a zero mean), never "None"."""
    return missing if value is None else str(value)


def _num(x: float) -> int | float:
    """An int when whole, else one decimal: keeps the JSON and the text tidy."""
    return int(x) if float(x).is_integer() else round(x, 1)


def histogram(values: list[int], bins: int = 12) -> list[dict[str, int]]:
    """Equal-width bins: [{"lo", "hi", "count"}], hi inclusive."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    step = max(1, math.ceil((hi - lo + 1) / bins))
    counts = Counter((v - lo) // step for v in values)
    return [
        {"lo": lo + b * step, "hi": lo + (b + 1) * step - 1, "count": counts.get(b, 0)}
        for b in range(math.ceil((hi - lo + 1) / step))
    ]


def _edge_table(edges: list[tuple[str, ...]], total: int, *, end: bool = False) -> list[dict[str, Any]]:
    """Most common first (or, with `end`, last) one to three words, with their share."""
    counts: Counter[str] = Counter()
    for words in edges:
        for n in range(1, min(3, len(words)) + 1):
            counts[" ".join(words[-n:] if end else words[:n])] += 1
    if not total:
        return []
    return [{"phrase": p, "answers": c, "share": round(c / total, 3)} for p, c in counts.most_common(TOP)]


def collect(path: Path, settings, counter=None) -> dict[str, Any]:
    """Everything `intone stats` shows, as plain JSON-ready data."""
    from intone.lint.context import LintContext
    from intone.lint.rules.voice import CatchphraseImbalance, StyleDrift
    from intone.lint.stats import DatasetProfile
    from intone.lint.tokens import TiktokenCounter
    from intone.schemas.jsonl import read_jsonl

    counter = counter or TiktokenCounter()
    profile = DatasetProfile(path=str(path))
    invalid_lines: list[int] = []
    conversation_tokens: list[int] = []
    user_texts: list[str] = []
    n_lines = 0
    with open(path, "rb", buffering=1 << 20) as stream:
        for line in read_jsonl(stream):
            n_lines = line.number
            if line.record is None:
                if line.problems and any(p.name != "blank-line" for p in line.problems):
                    invalid_lines.append(line.number)
                continue
            profile.add(line)
            messages = [(m.role, m.content) for m in line.record.messages]
            conversation_tokens.append(counter.count_conversation(messages))
            user_texts.extend(c for r, c in messages if r == "user")
    profile.n_lines = n_lines
    examples = profile.examples
    answers = profile.answers()
    answer_words = profile.answer_word_lengths()
    answer_tokens = counter.count_texts([a for _l, a in answers])
    prompt_words = [ex.prompt_words for ex in examples]
    turns = Counter(sum(1 for _ in ex.answers) for ex in examples)

    by_tag: dict[str, list[int]] = {}
    for ex in examples:
        for tag in ex.tags or ("(untagged)",):
            by_tag.setdefault(tag, []).extend(ex.answer_words)
    _edge_positions, edges = profile.edges(limit=max(1, len(profile.answers())))
    total = len(edges)

    ctx = LintContext(path=str(path), settings=settings, counter=counter)
    markers = []
    configured = settings.persona.get("markers") if isinstance(settings.persona, dict) else None
    from intone.lint.similarity import words as split_words

    normalised = [" " + " ".join(split_words(a)) + " " for _l, a in answers]
    if isinstance(configured, dict):
        for phrase, target in configured.items():
            needle = " " + " ".join(split_words(phrase)) + " "
            hits = sum(1 for t in normalised if needle in t)
            markers.append(
                {
                    "phrase": phrase,
                    "answers": hits,
                    "share": round(hits / total, 3) if total else 0.0,
                    "target": list(target) if isinstance(target, list) else None,
                }
            )
    frequent = []
    if total:
        rule = CatchphraseImbalance({"max-share": 0.1, "min-answers": 1})
        no_markers = LintContext(path=str(path), settings=_without_markers(settings), counter=counter)
        for d in rule.check_dataset(profile, no_markers):
            frequent.append(d.message)
    outliers = []
    drift = None
    style_rule = StyleDrift()
    for d in style_rule.check_dataset(profile, ctx):
        if d.line is None:
            drift = d.message
        else:
            outliers.append({"line": d.line, "message": d.message})

    return {
        "path": str(path),
        "tokenizer": counter.name,
        "counts": {
            "lines": n_lines,
            "records": len(examples),
            "invalid_lines": len(invalid_lines),
            "with_system": sum(1 for ex in examples if ex.has_system),
            "single_turn": turns.get(1, 0),
            "multi_turn": sum(c for k, c in turns.items() if k > 1),
            "user_turns": len(user_texts),
            "assistant_turns": len(answers),
            "tags": dict(Counter(t for ex in examples for t in ex.tags).most_common()),
        },
        "tokens": {
            "total": sum(conversation_tokens),
            "answers": sum(answer_tokens),
            "per_example": _summary(conversation_tokens),
            "per_answer": _summary(answer_tokens),
        },
        "answer_words": {**_summary(answer_words), "histogram": histogram(answer_words)},
        "answer_tokens": {**_summary(answer_tokens), "histogram": histogram(answer_tokens)},
        "prompt_words": {**_summary(prompt_words), "histogram": histogram(prompt_words)},
        "answer_words_by_tag": {tag: _summary(v) for tag, v in sorted(by_tag.items())},
        "openers": _edge_table([e[0] for e in edges], total),
        "closers": _edge_table([e[1] for e in edges], total, end=True),
        "markers": markers,
        "frequent_phrases": frequent,
        "style_outliers": outliers,
        "style_drift": drift,
    }


def _without_markers(settings):
    import copy

    clone = copy.copy(settings)
    clone.persona = {k: v for k, v in settings.persona.items() if k != "markers"}
    return clone


# ---------------------------------------------------------------------------- text


def render_text(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape as escape_markup
    from rich.table import Table

    from intone.lint.printable import printable

    def escape(text: str) -> str:
        """Dataset text for rich: control characters shown (printable.py), markup escaped."""
        return escape_markup(printable(text))

    console = Console(highlight=False)
    console.on_broken_pipe = _broken_pipe  # rich's default exits 1; main() keeps the command's code
    c = data["counts"]
    console.print(f"[bold]{escape(data['path'])}[/bold]")
    console.print(
        f"{c['records']} records ({c['invalid_lines']} invalid lines), {c['single_turn']} single-turn, "
        f"{c['multi_turn']} multi-turn, {c['with_system']} with a system message; "
        f"{c['user_turns']} user and {c['assistant_turns']} assistant turns"
    )
    t = data["tokens"]
    per_example = t["per_example"]
    spread = (
        f"per example median {per_example['median']}, max {per_example['max']}"
        if per_example["count"]
        else "no valid records"
    )
    console.print(
        f"tokens ({escape(data['tokenizer'])}): {t['total']:,} in all, {t['answers']:,} in answers; {spread}"
    )
    if c["tags"]:
        console.print("tags: " + ", ".join(f"{escape(k)} {v}" for k, v in c["tags"].items()))
    for key, title in (
        ("answer_words", "Answer length (words)"),
        ("answer_tokens", "Answer length (tokens)"),
        ("prompt_words", "Prompt length (words)"),
    ):
        block = data[key]
        console.print()
        if not block["count"]:
            console.print(f"[bold]{title}[/bold]: no data")
            continue
        console.print(
            f"[bold]{title}[/bold]: median {block['median']}, mean {block['mean']}, "
            f"{block['min']}–{block['max']}, CV {shown(block['cv'])}"
        )
        _print_histogram(console, block["histogram"])
    if data["answer_words_by_tag"]:
        console.print()
        table = Table(title="Answer words by prompt type (tag)", title_justify="left")
        for col in ("tag", "answers", "median", "min", "max"):
            table.add_column(col, justify="left" if col == "tag" else "right")
        for tag, s in data["answer_words_by_tag"].items():
            if not s["count"]:  # the tag's records have no valid assistant answer
                table.add_row(escape(tag), "0", "no answers", "", "")
                continue
            table.add_row(escape(tag), str(s["count"]), str(s["median"]), str(s["min"]), str(s["max"]))
        console.print(table)
    for key, title in (("openers", "Top openers"), ("closers", "Top closers")):
        if data[key]:
            console.print()
            table = Table(title=title, title_justify="left")
            table.add_column("phrase")
            table.add_column("answers", justify="right")
            table.add_column("share", justify="right")
            for row in data[key]:
                table.add_row(escape(row["phrase"]), str(row["answers"]), f"{100 * row['share']:.0f}%")
            console.print(table)
    console.print()
    if data["markers"]:
        console.print("[bold]Markers[/bold]")
        for m in data["markers"]:
            target = f" (target {m['target'][0]:.0%}–{m['target'][1]:.0%})" if m["target"] else ""
            console.print(f"  '{escape(m['phrase'])}': {m['answers']} answers, {m['share']:.1%}{target}")
    else:
        console.print("[bold]Markers[/bold]: none declared (\\[tool.intone.persona] markers)")
    if data["frequent_phrases"]:
        console.print("[bold]Phrases in over 10% of answers[/bold]")
        for message in data["frequent_phrases"][:TOP]:
            console.print(f"  {escape(message)}")
    console.print()
    console.print(f"[bold]Style outliers[/bold]: {len(data['style_outliers'])}")
    for row in data["style_outliers"][:20]:
        console.print(f"  line {row['line']}: {escape(row['message'])}")
    if data["style_drift"]:
        console.print(f"  drift along file order: {escape(data['style_drift'])}")


def _broken_pipe() -> None:
    raise BrokenPipeError


def _print_histogram(console, bins: list[dict[str, int]], width: int = 40) -> None:
    top = max((b["count"] for b in bins), default=0) or 1
    for b in bins:
        bar = "█" * round(width * b["count"] / top)
        console.print(f"  {b['lo']:>5}–{b['hi']:<5} │[cyan]{bar}[/cyan] {b['count']}")
