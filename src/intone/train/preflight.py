"""Before any weights load: lint the data, then count tokens exactly as the trainer will."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intone.lint.diagnostic import Diagnostic
from intone.train.config import TrainConfig
from intone.train.data import Example, encode, read_conversations, split_holdout
from intone.train.template import ChatTemplate, TemplateTokenCounter, TextTokenizer


@dataclass
class Preflight:
    ok: bool
    train: list[Example] = field(default_factory=list)
    valid: list[Example] = field(default_factory=list)
    lint_summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    eval_source: dict[str, Any] = field(default_factory=dict)


def lint_files(data: Path, eval_path: Path | None, counter: TemplateTokenCounter):
    """Lint the training file, and the eval file with the cross-file checks (eval leakage)."""
    from intone.config import load_settings
    from intone.lint.engine import Linter, LintResult

    settings = load_settings(start=data.resolve().parent)
    settings.cache = False
    linter = Linter(settings, counter=counter)
    result = LintResult([linter.lint_path(data)])
    return linter.lint_with_eval(result, eval_path) if eval_path is not None else result


def run(
    data: Path, cfg: TrainConfig, tokenizer: TextTokenizer, template: ChatTemplate, counter_name: str
) -> Preflight:
    from intone.lint.reporters import report

    counter = TemplateTokenCounter(tokenizer, template, counter_name)
    eval_path = Path(cfg.eval) if cfg.eval else None
    if eval_path is not None and not eval_path.is_file():
        from intone.errors import UsageError

        raise UsageError(f"--eval {cfg.eval}: no such file")
    result = lint_files(data, eval_path, counter)
    summary = result.summary()
    shown = [d for d in result.diagnostics if d.severity in ("error", "warning")]
    if shown:
        from dataclasses import replace

        only_shown = [replace(f, diagnostics=[d for d in f.diagnostics if d in shown]) for f in result.files]
        report(type(result)(only_shown), "text", sys.stderr)
    warnings = [d.to_dict() for d in result.diagnostics if d.severity == "warning"]
    pre = Preflight(ok=True, lint_summary=summary, warnings=warnings)
    print(
        f"lint: {summary['records']} records, {summary['errors']} error(s), {summary['warnings']} warning(s)",
        file=sys.stderr,
    )
    if summary["errors"] and not cfg.force:
        print("Preflight failed: fix the errors above, or pass --force to train anyway.", file=sys.stderr)
        pre.ok = False
        return pre

    records, broken = read_conversations(data)
    if eval_path is not None:
        train_records = records
        valid_records, eval_broken = read_conversations(eval_path)
        pre.eval_source = {"path": str(eval_path), "sha256": file_sha256(eval_path), "broken_lines": eval_broken}
    else:
        train_records, valid_records = split_holdout(records, cfg.val_fraction, cfg.seed)
        pre.eval_source = {"split": "val-fraction", "fraction": cfg.val_fraction, "seed": cfg.seed}
    kwargs = {"max_length": cfg.max_length, "train_on": cfg.train_on}
    train_enc = encode(train_records, tokenizer, template, path=str(data), **kwargs)
    valid_enc = encode(valid_records, tokenizer, template, path=str(eval_path or data), **kwargs)
    too_long: list[Diagnostic] = train_enc.too_long + valid_enc.too_long
    if too_long:
        from intone.lint.engine import FileReport, LintResult

        report(LintResult([FileReport(str(data), too_long)]), "text", sys.stderr)
        if not cfg.drop_long:
            print(
                f"Preflight failed: {len(too_long)} example(s) would lose assistant tokens to truncation at "
                f"--max-length {cfg.max_length}; raise it, shorten them, or pass --drop-long to skip them.",
                file=sys.stderr,
            )
            pre.ok = False
            return pre
    pre.train, pre.valid = train_enc.examples, valid_enc.examples
    if not pre.train:
        from intone.errors import UsageError

        raise UsageError(f"{data}: no trainable examples (records need an assistant turn)")
    lengths = [e.n_tokens for e in pre.train]
    pre.counts = {
        "train_examples": len(pre.train),
        "eval_examples": len(pre.valid),
        "broken_lines_skipped": broken,
        "total_tokens": sum(lengths),
        "trainable_tokens": sum(e.n_trainable for e in pre.train),
        "eval_tokens": sum(e.n_tokens for e in pre.valid),
        "eval_trainable_tokens": sum(e.n_trainable for e in pre.valid),
        "longest": max(lengths),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "truncated": len(train_enc.truncated) + len(valid_enc.truncated),
        "dropped_long": len(too_long),
        "max_length": cfg.max_length,
    }
    c = pre.counts
    share = 100 * c["trainable_tokens"] / max(1, c["total_tokens"])
    print(
        f"tokens: {c['train_examples']} train examples, {c['total_tokens']:,} tokens, "
        f"{c['trainable_tokens']:,} trained ({share:.0f}%), longest {c['longest']}; "
        f"eval: {c['eval_examples']} examples; {c['truncated']} truncated, {c['dropped_long']} dropped as too long "
        f"(--max-length {cfg.max_length})",
        file=sys.stderr,
    )
    return pre


def file_sha256(path: Path) -> str:
    from intone.train.model import sha256_file

    return sha256_file(path)
