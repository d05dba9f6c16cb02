"""`intone stats PATH`: the dataset's profile for a person (rich text), a browser (--html) or a
machine (--format json). Everything comes from one read of the file into a `DatasetProfile`,
the same profile the lint rules use. Heavy modules (rich, matplotlib) load inside the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from intone.lint.summary import TOP, collect, phrase_share, shown


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

    from intone.commands.common import load_settings_for, make_counter
    from intone.errors import UsageError

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
        for found in data["frequent_phrases"][:TOP]:
            console.print(f"  {escape(phrase_share(found))}")
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
