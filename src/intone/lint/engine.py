"""The lint engine: one streaming pass per file, then dataset rules on the profile."""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from intone.config import Settings
from intone.errors import ConfigError
from intone.lint.context import LintContext
from intone.lint.diagnostic import SEVERITY_RANK, Diagnostic
from intone.lint.edit import rewritable
from intone.lint.registry import (
    CrossRule,
    DatasetRule,
    LineRule,
    RecordRule,
    Registry,
    Rule,
    read_diagnostics,
)
from intone.lint.rules import RULES
from intone.lint.rules.structure import CrlfLineEnding, UnreadableFile
from intone.lint.stats import DatasetProfile
from intone.lint.tokens import TiktokenCounter, TokenCounter
from intone.schemas.jsonl import Line, Problem, read_jsonl

Progress = Callable[[int], None]


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic]
    n_lines: int = 0
    n_records: int = 0
    profile: DatasetProfile | None = None


@dataclass
class LintResult:
    files: list[FileReport] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    def summary(self) -> dict[str, Any]:
        diags = self.diagnostics
        by_severity = Counter(d.severity for d in diags)
        return {
            "files": len(self.files),
            "records": sum(f.n_records for f in self.files),
            "lines": sum(f.n_lines for f in self.files),
            "diagnostics": len(diags),
            "errors": by_severity.get("error", 0),
            "warnings": by_severity.get("warning", 0),
            "infos": by_severity.get("info", 0),
            "fixable": sum(1 for d in diags if d.fixable),
            "by_rule": dict(sorted(Counter(d.name for d in diags).items())),
        }

    def worst(self) -> int:
        return max((SEVERITY_RANK[d.severity] for d in self.diagnostics), default=-1)


class Linter:
    """Holds settings, the rule table and a token counter; lints files or line streams."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry = RULES,
        counter: TokenCounter | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.registry = registry
        self.counter = counter or TiktokenCounter()
        self._options = self._resolve_options()
        self._selected = self._select(self.settings.select, self.settings.ignore)

    # ------------------------------------------------------------------ selection

    def _select(self, select: Iterable[str], ignore: Iterable[str]) -> set[str]:
        try:
            return self.registry.select(select) - self.registry.select(ignore)
        except KeyError as exc:
            raise ConfigError(f"unknown rule {exc.args[0]!r} in select/ignore; see `intone rules`") from None

    def _resolve_options(self) -> dict[str, dict[str, Any]]:
        resolved: dict[str, dict[str, Any]] = {}
        configured = dict(self.settings.rules)
        source = f"{self.settings.source}: " if self.settings.source else ""
        for key, values in configured.items():
            rule = self.registry.get(key)
            if rule is None:
                raise ConfigError(f"{source}[tool.intone.rules]: unknown rule {key!r}; see `intone rules`")
            if not isinstance(values, dict):
                raise ConfigError(f"{source}[tool.intone.rules.{key}] must be a table of options")
            known = {o.name: o for o in rule.options}
            for opt_name, value in values.items():
                if opt_name not in known:
                    names = ", ".join(known) or "none"
                    raise ConfigError(
                        f"{source}[tool.intone.rules.{rule.name}]: unknown option {opt_name!r} (options: {names})"
                    )
                try:
                    resolved.setdefault(rule.name, {})[opt_name] = known[opt_name].coerce(value)
                except ValueError as exc:
                    raise ConfigError(f"{source}[tool.intone.rules.{rule.name}] {opt_name}: {exc}") from None
        too_long = resolved.setdefault("too-long", {})
        too_long.setdefault("max-tokens", self.settings.max_tokens)
        return resolved

    def rules_for(self, path: str) -> list[Rule]:
        names = set(self._selected)
        candidates = {path, os.path.basename(path), _relative_to(path, self.settings.root)}
        for pattern, ignored in self.settings.per_file_ignores.items():
            if any(fnmatch.fnmatch(c, pattern) for c in candidates):
                names -= self._select(ignored, [])
        return [rule(self._options.get(rule.name)) for rule in self.registry if rule.name in names]

    # ------------------------------------------------------------------ linting

    def lint_path(self, path: str | Path, *, progress: Progress | None = None) -> FileReport:
        display = str(path)
        with open(path, "rb", buffering=1 << 20) as stream:
            return self.lint_stream(stream, display, progress=progress)

    def unreadable(self, path: str | Path, exc: OSError) -> FileReport:
        """The report for a file found in a folder that could not be opened or read (`exc`): one
        unreadable-file finding, whatever the selection, since a file not read was not checked."""
        display = str(path)
        return FileReport(display, [UnreadableFile().for_error(display, exc)])

    def lint_stream(self, stream: BinaryIO, display: str, *, progress: Progress | None = None) -> FileReport:
        return self.lint_lines(read_jsonl(_Counting(stream, progress) if progress else stream), display)

    def lint_lines(self, lines: Iterable[Line], display: str) -> FileReport:
        rules = self.rules_for(display)
        ctx = LintContext(path=display, settings=self.settings, counter=self.counter)
        line_rules = {r.problem: r for r in rules if isinstance(r, LineRule)}
        record_rules = [r for r in rules if isinstance(r, RecordRule)]
        dataset_rules = [r for r in rules if isinstance(r, DatasetRule)]
        profile = DatasetProfile(path=display)
        out: list[Diagnostic] = []
        n_lines = 0
        crlf: tuple[int, CrlfLineEnding] | None = None  # where its finding is in `out`
        crlf_kept: list[int] = []  # CRLF lines that --fix leaves as they are
        for line in lines:
            n_lines = line.number
            for diagnostic in read_diagnostics(line, line_rules, display):
                if diagnostic.name == CrlfLineEnding.name:
                    crlf = (len(out), line_rules[Problem.CRLF_LINE_ENDING])
                out.append(diagnostic)
            if line.ending == b"\r\n" and not rewritable(line):
                crlf_kept.append(line.number)
            if line.record is None:
                continue
            for record_rule in record_rules:
                out.extend(record_rule.check(line, ctx))
            profile.add(line)
        if crlf is not None and crlf_kept:
            index, crlf_rule = crlf
            out[index] = crlf_rule.not_fixable(out[index], crlf_kept)
        profile.n_lines = n_lines
        out.extend(_run_dataset_rules(dataset_rules, profile, ctx))
        out.sort(key=Diagnostic.sort_key)
        return FileReport(display, out, n_lines, profile.n_records, profile)

    def lint_with_eval(self, result: LintResult, eval_path: str | Path) -> LintResult:
        """Lint the eval file too, then run cross rules for each training file against it."""
        eval_report = self.lint_path(eval_path)
        display = str(eval_path)
        ctx = LintContext(path=display, settings=self.settings, counter=self.counter)
        cross = [r for r in self.rules_for(display) if isinstance(r, CrossRule)]
        found: list[Diagnostic] = []
        for report in result.files:
            train_profile = report.profile
            if train_profile is None:  # served from cache: profile needed, so lint again
                train_profile = self.lint_path(report.path).profile
            for rule in cross:
                found.extend(rule.check_cross(train_profile, eval_report.profile, ctx))
        eval_report.diagnostics = sorted(eval_report.diagnostics + found, key=Diagnostic.sort_key)
        files = [f for f in result.files if f.path != display]
        return LintResult(files + [eval_report])


PARALLEL_MIN_EXAMPLES = 5_000


def _run_dataset_rules(
    rules: list[DatasetRule], profile: DatasetProfile, ctx: LintContext
) -> list[Diagnostic]:
    """Run the dataset rules; on large files, two at a time.

    near-duplicate spends most of its time in numpy, which releases the GIL, so it overlaps
    with the pure-Python rules on a second core. Results keep the rules' order either way.
    """
    if len(rules) < 2 or profile.n_records < PARALLEL_MIN_EXAMPLES:
        return [d for rule in rules for d in rule.check_dataset(profile, ctx)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(lambda r=rule: list(r.check_dataset(profile, ctx))) for rule in rules]
        return [d for future in futures for d in future.result()]


def _relative_to(path: str, root: Path) -> str:
    """The path relative to the config's folder, as per-file-ignores patterns are written."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


class _Counting:
    """Wraps a binary stream to report bytes read, for a progress bar."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self._stream = stream
        self._progress = progress
        self._seen = 0

    def __iter__(self):
        for chunk in self._stream:
            self._seen += len(chunk)
            if self._seen >= 1 << 20:
                self._progress(self._seen)
                self._seen = 0
            yield chunk
        self._progress(self._seen)
