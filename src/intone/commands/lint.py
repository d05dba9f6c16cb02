"""`intone lint`, `rules`, `rule` and `convert`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from intone.commands.common import discard_stdout, load_settings_for, make_counter
from intone.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from intone.lint.discover import Entry, collect_paths

PROGRESS_BYTES = 20 << 20  # about 50k records of typical size


def register(sub) -> None:
    lint = sub.add_parser("lint", help="check JSONL datasets", description="Check JSONL datasets.")
    lint.add_argument("paths", nargs="+", metavar="PATH", help="JSONL files or folders")
    lint.add_argument("--format", choices=("text", "json", "github", "sarif"), help="output format")
    lint.add_argument("--select", help="comma-separated rules to run (names, codes, prefixes, ALL)")
    lint.add_argument("--ignore", help="comma-separated rules to skip")
    lint.add_argument("--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails")
    lint.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    lint.add_argument("--fix", action="store_true", help="apply safe fixes in place (atomically)")
    lint.add_argument("--config", help="config file (pyproject.toml or intone.toml)")
    lint.add_argument("--statistics", action="store_true", help="count problems per rule")
    lint.add_argument("--no-cache", action="store_true", help="do not read or write .intone_cache/")
    lint.add_argument("--eval", metavar="EVAL", help="eval file to check for leakage from training")
    lint.add_argument("--tokenizer", metavar="ID|PATH", help="count tokens exactly with this tokenizer")
    lint.add_argument("--max-tokens", type=_positive_int, help="longest example in tokens (default 2048)")
    lint.set_defaults(func=cmd_lint)

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    rules.set_defaults(func=cmd_rules)

    rule = sub.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule", metavar="NAME-or-CODE")
    rule.set_defaults(func=cmd_rule)

    convert = sub.add_parser(
        "convert",
        help="import prompt/completion, ShareGPT, Alpaca, input/output, question/answer ... records",
        description=(
            "Convert records into the messages format: ShareGPT conversations, prompt+completion, "
            "Alpaca instruction(+input)+output, input+output, question+answer, prompt+response, "
            "query+response, or any pair of fields with --map. IN is JSONL, a JSON array, or CSV "
            "with a header row (.csv, .tsv)."
        ),
    )
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument("--map", metavar="user=FIELD,assistant=FIELD[,system=FIELD]",
                         help="take each turn from these fields of every record")
    convert.add_argument("--strip-separators", action="store_true",
                         help='remove prompt/completion leftovers: the "\\n\\n###\\n\\n" separator, a trailing '
                              '"###" or " END", the leading space of an answer')
    convert.set_defaults(func=cmd_convert)



def _positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (argparse names the flag and exits 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_lint(args: argparse.Namespace) -> int:
    from intone.lint.engine import Linter, LintResult, collect_rarely
    from intone.lint.reporters import report

    collect_rarely()
    settings = load_settings_for(args)
    entries = collect_paths(args.paths)
    if not entries:
        raise UsageError(f"no .jsonl files found in {', '.join(args.paths)}")
    linter = Linter(settings, counter=make_counter(settings))
    if args.fix:
        _apply_fixes(linter, entries)
    result = LintResult(files=[_lint_entry(linter, entry, settings) for entry in entries])
    if settings.eval:
        result = run_eval_checks(linter, result, [e.path for e in entries], settings)
    from intone.lint.diagnostic import SEVERITY_RANK

    failed = result.worst() >= SEVERITY_RANK[settings.fail_on] and not args.exit_zero
    code = EXIT_FINDINGS if failed else EXIT_OK
    out = sys.stdout
    try:
        color = out.isatty() and not os.environ.get("NO_COLOR")
        report(result, settings.format, out, color=color, statistics=args.statistics)
        out.flush()
    except BrokenPipeError:  # `intone lint ... | head`: the findings still decide the exit code
        discard_stdout()
    return code


def _apply_fixes(linter, entries: list[Entry]) -> None:
    from intone.lint.fix import fix_file
    from intone.lint.printable import printable

    for path, named, error in entries:
        if error is not None or (not named and not _can_open(path)):
            continue  # the lint pass reports it as unreadable-file
        enabled = {r.name for r in linter.rules_for(str(path)) if r.fixable}
        fixed = fix_file(path, enabled)
        if fixed:
            what = ", ".join(f"{name} on {n} line{'s' if n != 1 else ''}" for name, n in sorted(fixed.items()))
            print(f"Fixed {printable(str(path))}: {what}", file=sys.stderr)


def _can_open(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _lint_entry(linter, entry: Entry, settings):
    """Lint one entry; one found in a folder that cannot be read is a finding, not the end."""
    if entry.error is not None:
        return linter.unreadable(entry.path, entry.error)
    try:
        return _lint_one(linter, entry.path, settings)
    except BrokenPipeError:  # stderr (the progress bar) is gone: not the file's fault
        raise
    except OSError as exc:
        if entry.named:
            raise
        return linter.unreadable(entry.path, exc)


def _lint_one(linter, path: Path, settings):
    from intone.lint.cache import Cache, file_digest

    display = str(path)
    cache = None
    if settings.cache and not settings.eval:
        fingerprint = {
            "select": sorted(linter._selected),
            "options": linter._options,
            "settings": [settings.per_file_ignores, settings.persona, settings.tokenizer],
            "counter": linter.counter.name,
            "path": display,
        }
        cache = Cache(settings.root, fingerprint)
        digest = file_digest(path)
        hit = cache.get(display, digest)
        if hit is not None:
            return hit
    progress = _progress_for(path)
    try:
        report = linter.lint_path(path, progress=progress.advance if progress else None)
    finally:
        if progress:
            progress.close()
    if cache is not None:
        cache.put(digest, report)
    return report


def run_eval_checks(linter, result, paths, settings):
    """Lint the eval file too, then run cross-file rules (eval-leakage) train x eval."""
    eval_path = Path(settings.eval)
    if not eval_path.is_absolute() and settings.source is not None and not eval_path.exists():
        eval_path = settings.root / eval_path
    if not eval_path.is_file():
        raise UsageError(f"{settings.eval}: eval file not found")
    return linter.lint_with_eval(result, eval_path)


class _Progress:
    def __init__(self, path: Path, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        )
        self._bar.start()
        self._task = self._bar.add_task(f"lint {path.name}", total=total)

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)

    def close(self) -> None:
        self._bar.stop()


def _progress_for(path: Path) -> _Progress | None:
    if not sys.stderr.isatty():
        return None
    size = path.stat().st_size
    threshold = int(os.environ.get("INTONE_PROGRESS_BYTES", PROGRESS_BYTES))
    return _Progress(path, size) if size >= threshold else None


# ---------------------------------------------------------------------------- rules


def cmd_rules(args: argparse.Namespace) -> int:
    from intone.lint.rules import RULES

    rows = [
        (r.code, r.name, r.severity, "yes" if r.fixable else "", r.summary) for r in RULES
    ]
    if args.format == "json":
        import json

        keys = ("code", "name", "severity", "fixable", "summary")
        print(json.dumps([dict(zip(keys, (c, n, s, bool(f), m))) for c, n, s, f, m in rows], indent=2))
    elif args.format == "markdown":
        print("| code | name | severity | fixable | what it finds |")
        print("| --- | --- | --- | --- | --- |")
        for code, name, severity, fixable, summary in rows:
            print(f"| {code} | `{name}` | {severity} | {fixable} | {summary} |")
    else:
        width = max(len(r[1]) for r in rows)
        for code, name, severity, fixable, summary in rows:
            mark = "[*]" if fixable else "   "
            print(f"{code}  {name:<{width}}  {severity:<7}  {mark}  {summary}")
    return EXIT_OK


def cmd_rule(args: argparse.Namespace) -> int:
    from intone.lint.rules import RULES

    rule = RULES.get(args.rule)
    if rule is None:
        raise UsageError(f"unknown rule {args.rule!r}; `intone rules` lists them")
    print(f"# {rule.name} ({rule.code})\n")
    print(f"Severity: {rule.severity}. Fixable: {'yes' if rule.fixable else 'no'}.")
    if rule.aliases:
        print(f"Also known as: {', '.join(rule.aliases)}.")
    print()
    print(rule.doc())
    if rule.options:
        print("\nOptions (set under [tool.intone.rules." + rule.name + "]):")
        for opt in rule.options:
            print(f"  {opt.name} = {opt.default!r}  # {opt.help}")
    return EXIT_OK


# ---------------------------------------------------------------------------- convert


SHOWN_SKIPS = 5


def cmd_convert(args: argparse.Namespace) -> int:
    from intone.lint.printable import printable
    from intone.schemas.convert import FieldMap, convert_items, read_items
    from intone.schemas.jsonl import write_jsonl_atomic

    source, target = Path(args.input), Path(args.output)
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"{target}: refusing to overwrite the input; choose another OUT")
    mapping = None
    if args.map:
        try:
            mapping = FieldMap.parse(args.map)
        except ValueError as exc:
            raise UsageError(f"--map {args.map}: {exc}") from None
    items = list(read_items(source))
    if mapping is not None:
        present = {k for item in items if isinstance(item.data, dict) for k in item.data}
        missing = [name for name in mapping.fields() if name not in present]
        if missing:
            raise UsageError(f"--map: no record of {source} has the field {missing[0]!r} "
                             f"(fields seen: {', '.join(sorted(map(str, present))) or 'none'})")
    result = convert_items(items, mapping=mapping, strip=args.strip_separators)
    shown = printable(str(source))
    for where, number, why in result.skipped[:SHOWN_SKIPS]:
        place = f"{shown}:{number}" if where == "line" else f"{shown}: record {number}"
        print(f"{place}: {printable(why)}; {where} skipped", file=sys.stderr)
    unit = result.skipped[0][0] if result.skipped else "line"
    if len(result.skipped) > SHOWN_SKIPS:
        hint = f"; run `intone lint {shown}` to see every problem" if unit == "line" else ""
        print(f"... and {len(result.skipped) - SHOWN_SKIPS} more skipped {unit}(s){hint}", file=sys.stderr)
    leftovers = result.leftovers.describe()
    if leftovers:
        done = "removed" if args.strip_separators else "kept; pass --strip-separators to remove them"
        print(f"prompt/completion leftovers ({done}): {'; '.join(leftovers)}", file=sys.stderr)
    if not result.records:
        print(f"Nothing converted from {source}: {len(result.skipped)} {unit}(s) skipped, {target} not written")
        return EXIT_FINDINGS
    write_jsonl_atomic(target, result.records)
    shapes = ", ".join(f"{n} {shape}" for shape, n in result.shapes.most_common())
    skipped = f"; {len(result.skipped)} {unit}(s) skipped" if result.skipped else ""
    print(f"Converted {len(result.records)} record(s) from {source} to {target} ({shapes}){skipped}")
    return EXIT_FINDINGS if result.skipped else EXIT_OK
