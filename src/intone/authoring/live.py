"""Lint while typing: per-record rules on the edited record only, dataset context kept incrementally.

A full lint (every rule, the dataset profile, answer tokens, the near-duplicate index) runs once
in the background after opening and after saves; a keystroke then costs one record's rules, a few
dictionary updates and one near-duplicate query. No textual here.
"""

from __future__ import annotations

import bisect
import importlib
import importlib.util
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from intone.authoring.model import Row
from intone.config import Settings
from intone.lint.context import LintContext
from intone.lint.diagnostic import SEVERITY_RANK, Diagnostic
from intone.lint.engine import Linter
from intone.lint.registry import DatasetRule, LineRule, RecordRule
from intone.lint.stats import DatasetProfile, ExampleStats
from intone.schemas.jsonl import Line

LIVE_DATASET_RULES = ("duplicate-example", "duplicate-prompt", "near-duplicate")
"""Dataset rules whose verdict on the current example is recomputed as you type."""


def make_line(row: Row, number: int) -> Line:
    """A `Line` for the lint rules, built from the row's current data (no re-parsing)."""
    return Line(
        number=number,
        raw=b"",
        ending=b"\n",
        data=row.data,
        record=row.record(),
        problems=list(row.problems) if not row.dirty or row.broken else [],
    )


def answers_of(row: Row) -> list[str]:
    return [m.get("content", "") for m in row.messages if m.get("role") == "assistant"]


def percentile(counts: Counter[int], total: int, q: float) -> int:
    """The q-quantile (0..1) of a multiset given as value -> count."""
    if not total:
        return 0
    rank = q * (total - 1)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen > rank:
            return value
    return max(counts)


@dataclass
class Band:
    low: int
    median: int
    high: int
    n: int

    def place(self, value: int) -> str:
        if not self.n:
            return "no answers yet"
        if value < self.low:
            return "below the band"
        if value > self.high:
            return "above the band"
        return "inside the band"


@dataclass
class Histogram:
    edges: list[int]
    """Bin i holds lengths in [edges[i], edges[i+1])."""
    counts: list[int]
    marked: int | None
    """The bin of the current answer."""


@dataclass
class PanelView:
    """Everything the lint panel shows for the current example, as plain data."""

    diagnostics: list[Diagnostic]
    answer_words: int | None
    """None when the example has no answer (or no example is shown)."""
    answer_tokens: int | None
    word_band: Band
    token_band: Band | None
    histogram: Histogram
    near: list[tuple[int, float]] = field(default_factory=list)
    """(row uid, similarity) of examples whose answer resembles this one."""
    near_available: bool = True
    dataset_diagnostics: list[Diagnostic] = field(default_factory=list)
    checked: bool = True
    """False until the example's own rules have run (just after opening a file)."""
    file_checked: bool = True
    """False until the whole-file rules (duplicates, lengths, voice) have run."""


def _similarity_module():
    try:
        return importlib.import_module("intone.lint.similarity")
    except ModuleNotFoundError:
        return None


@dataclass
class FullLint:
    """The result of linting a snapshot of rows (built in a worker thread)."""

    rows: list[Row]
    datas: list[Any]
    record_diags: dict[int, list[Diagnostic]]
    dataset_diags: dict[int, list[Diagnostic]]
    file_diags: list[Diagnostic]
    examples: dict[int, ExampleStats]
    answer_tokens: dict[int, list[int]]
    near_index: Any


class LiveLint:
    """Per-row diagnostics and dataset context for the app, updated one record at a time."""

    def __init__(self, settings: Settings | None, display: str, linter: Linter | None = None) -> None:
        self.linter = linter or Linter(settings)
        rules = self.linter.rules_for(display)
        self.display = display
        self.ctx = LintContext(path=display, settings=self.linter.settings, counter=self.linter.counter)
        self.record_rules = [r for r in rules if isinstance(r, RecordRule)]
        self.line_rules = {r.name: r for r in rules if isinstance(r, LineRule)}
        self.dataset_rules = [r for r in rules if isinstance(r, DatasetRule)]
        self.live_rules = {r.name: r for r in self.dataset_rules if r.name in LIVE_DATASET_RULES}
        near = next((r for r in self.dataset_rules if r.name == "near-duplicate"), None)
        self.near_threshold = float(near.opt.get("threshold", 0.7)) if near is not None else 0.7
        self.near_min_words = int(near.opt.get("min-words", 0)) if near is not None else 0
        """Answers shorter than this are not compared (as the near-duplicate rule does)."""
        self.similarity: Any = None
        """intone.lint.similarity, imported by the worker that builds the index (numpy is slow to load)."""
        self.has_similarity = importlib.util.find_spec("intone.lint.similarity") is not None
        self.record_diags: dict[int, list[Diagnostic]] = {}
        self.dataset_diags: dict[int, list[Diagnostic]] = {}
        self.file_diags: list[Diagnostic] = []
        self.examples: dict[int, ExampleStats] = {}
        self.answer_tokens: dict[int, list[int]] = {}
        self.word_counts: Counter[int] = Counter()
        self.token_counts: Counter[int] = Counter()
        self.by_key: dict[bytes, set[int]] = {}
        self.by_prompt: dict[str, set[int]] = {}
        self.near_index: Any = None
        self.rows_by_uid: dict[int, Row] = {}
        self.linted_data: dict[int, Any] = {}
        self.ready = False
        self.severity_counts: Counter[str] = Counter()
        self._near_pending: set[int] = set()

    # ------------------------------------------------------------------ full lint

    def full_lint(self, rows: Sequence[Row], *, with_near: bool = True) -> FullLint:
        """Lint every row (thread-safe: reads the rows' current data objects once)."""
        datas = [r.data for r in rows]
        lines = [make_line(r, i + 1) for i, r in enumerate(rows)]
        uid_at = {i + 1: r.uid for i, r in enumerate(rows)}
        record_names = {r.name for r in self.record_rules} | set(self.line_rules)
        report = self.linter.lint_lines(lines, self.display)
        record_diags: dict[int, list[Diagnostic]] = {r.uid: [] for r in rows}
        dataset_diags: dict[int, list[Diagnostic]] = {r.uid: [] for r in rows}
        file_diags: list[Diagnostic] = []
        for diag in report.diagnostics:
            uid = uid_at.get(diag.line) if diag.line is not None else None
            if uid is None:
                file_diags.append(diag)
            elif diag.name in record_names:
                record_diags[uid].append(diag)
            else:
                dataset_diags[uid].append(diag)
        profile: DatasetProfile = report.profile  # type: ignore[assignment]
        examples = {uid_at[ex.line]: ex for ex in profile.examples}
        counter = self.linter.counter
        answer_tokens: dict[int, list[int]] = {}
        flat = [(r.uid, a) for r in rows if r.uid in examples for a in answers_of(r)]
        counts = counter.count_texts([a for _uid, a in flat])
        for (uid, _a), n in zip(flat, counts):
            answer_tokens.setdefault(uid, []).append(n)
        near_index = self.build_near(rows, datas)[0] if with_near else None
        return FullLint(
            list(rows), datas, record_diags, dataset_diags, file_diags, examples, answer_tokens, near_index
        )

    def build_near(
        self, rows: Sequence[Row], datas: Sequence[Any] | None = None
    ) -> tuple[Any, dict[int, Any]]:
        """A fresh near-duplicate index of every answer (slow for big files: run in a worker)."""
        datas = datas if datas is not None else [r.data for r in rows]
        indexed: dict[int, Any] = {}
        if self.similarity is None and self.has_similarity:
            self.similarity = _similarity_module()
        if self.similarity is None:
            return None, indexed
        near_index = self.similarity.NearDuplicateIndex(threshold=self.near_threshold)
        for row, data in zip(rows, datas):
            if data is None:
                continue
            indexed[row.uid] = data
            text = "\n".join(
                m.get("content", "") for m in data.get("messages", []) if m.get("role") == "assistant"
            )
            if self._comparable(text):
                near_index.add(row.uid, text)
        return near_index, indexed

    def adopt_near(self, near_index: Any, indexed: dict[int, Any], current_rows: Sequence[Row]) -> None:
        """Take a built index (UI thread) and bring it up to date with edits made meanwhile."""
        live = {r.uid: r for r in current_rows}
        for uid in list(indexed):
            row = live.get(uid)
            if (row is None or row.data is not indexed[uid]) and uid in near_index:
                near_index.remove(uid)
        for row in current_rows:
            if row.data is not None and indexed.get(row.uid, object()) is not row.data:
                text = "\n".join(answers_of(row))
                if self._comparable(text) and row.uid not in near_index:
                    near_index.add(row.uid, text)
        self.near_index = near_index

    def adopt(self, result: FullLint, current_rows: Sequence[Row]) -> set[int]:
        """Take a full lint's results (UI thread); rows edited meanwhile are re-linted live.

        Returns the uids whose data changed since the snapshot."""
        self.record_diags = result.record_diags
        self.dataset_diags = result.dataset_diags
        self.file_diags = result.file_diags
        self.examples = result.examples
        self.answer_tokens = result.answer_tokens
        if result.near_index is not None:
            self.near_index = result.near_index
        self.rows_by_uid = {r.uid: r for r in current_rows}
        self.linted_data = {r.uid: d for r, d in zip(result.rows, result.datas)}
        self.word_counts = Counter(n for ex in self.examples.values() for n in ex.answer_words)
        self.token_counts = Counter(n for ns in self.answer_tokens.values() for n in ns)
        self.by_key, self.by_prompt = {}, {}
        for uid, ex in self.examples.items():
            self.by_key.setdefault(ex.example_key, set()).add(uid)
            if ex.prompt:
                self.by_prompt.setdefault(ex.prompt, set()).add(uid)
        self.ready = True
        stale: set[int] = set()
        live_uids = set(self.rows_by_uid)
        for table in (self.record_diags, self.dataset_diags):
            for uid in [u for u in table if u not in live_uids]:
                del table[uid]
        for uid in list(self.examples):
            if uid not in live_uids:
                self._forget(uid)
        for index, row in enumerate(current_rows):
            if row.uid not in self.linted_data or self.linted_data[row.uid] is not row.data:
                stale.add(row.uid)
                self.update_row(row, index)
        self._recount()
        return stale

    # ------------------------------------------------------------------ incremental

    def update_row(self, row: Row, index: int) -> None:
        """The row's data changed (or it is new): refresh its record diagnostics and context."""
        self.rows_by_uid[row.uid] = row
        line = make_line(row, index + 1)
        old = self.record_diags.get(row.uid, [])
        new: list[Diagnostic] = []
        for problem in line.problems:
            rule = self.line_rules.get(problem.name)
            if rule is not None:
                new.append(rule.diagnostic(self.display, line.number, problem.message, column=problem.column))
        if line.record is not None:
            for rule in self.record_rules:
                new.extend(rule.check(line, self.ctx))
        self.record_diags[row.uid] = new
        self._count(old, -1)
        self._count(new, +1)
        if not self.ready:
            return
        self._forget(row.uid, near=False)
        if line.record is None:
            return
        scratch = DatasetProfile(path=self.display)
        ex = scratch.add(line)
        if ex is None:
            return
        self.examples[row.uid] = ex
        self.word_counts.update(ex.answer_words)
        self.by_key.setdefault(ex.example_key, set()).add(row.uid)
        if ex.prompt:
            self.by_prompt.setdefault(ex.prompt, set()).add(row.uid)
        tokens = self.linter.counter.count_texts(answers_of(row))
        self.answer_tokens[row.uid] = tokens
        self.token_counts.update(tokens)
        self._near_pending.add(row.uid)  # re-indexed when next queried (debounced panel update)

    def remove_row(self, row: Row) -> None:
        self._count(self.record_diags.pop(row.uid, []), -1)
        self._count(self.dataset_diags.pop(row.uid, []), -1)
        self.rows_by_uid.pop(row.uid, None)
        self._forget(row.uid)

    def _forget(self, uid: int, near: bool = True) -> None:
        ex = self.examples.pop(uid, None)
        if ex is not None:
            self.word_counts.subtract(ex.answer_words)
            self.word_counts += Counter()  # drop zero counts
            _discard(self.by_key, ex.example_key, uid)
            if ex.prompt:
                _discard(self.by_prompt, ex.prompt, uid)
        tokens = self.answer_tokens.pop(uid, None)
        if tokens:
            self.token_counts.subtract(tokens)
            self.token_counts += Counter()
        if near:
            self._near_pending.discard(uid)
            if self.near_index is not None and uid in self.near_index:
                self.near_index.remove(uid)

    def _count(self, diags: Iterable[Diagnostic], sign: int) -> None:
        for d in diags:
            self.severity_counts[d.severity] += sign

    def _recount(self) -> None:
        self.severity_counts = Counter()
        for diags in (*self.record_diags.values(), *self.dataset_diags.values()):
            self._count(diags, +1)
        self._count(self.file_diags, +1)

    # ------------------------------------------------------------------ queries

    def worst(self, row: Row) -> str | None:
        best = -1
        for d in (*self.record_diags.get(row.uid, ()), *self.dataset_diags.get(row.uid, ())):
            best = max(best, SEVERITY_RANK[d.severity])
        return ("info", "warning", "error")[best] if best >= 0 else None

    def counts(self) -> tuple[int, int]:
        return self.severity_counts.get("error", 0), self.severity_counts.get("warning", 0)

    def diagnostics_for(self, row: Row, index: int, rows: Sequence[Row]) -> list[Diagnostic]:
        """The current example's diagnostics: fresh record rules, live duplicates, the rest."""
        diags = list(self.record_diags.get(row.uid, []))
        edited = self.linted_data.get(row.uid, object()) is not row.data
        for d in self.dataset_diags.get(row.uid, []):
            if not (edited and d.name in self.live_rules):
                diags.append(d)
        if edited and self.ready:
            diags.extend(self._live_duplicates(row, index, rows))
        return sorted(diags, key=lambda d: (-SEVERITY_RANK[d.severity], d.code))

    def _live_duplicates(self, row: Row, index: int, rows: Sequence[Row]) -> list[Diagnostic]:
        ex = self.examples.get(row.uid)
        if ex is None:
            return []
        out = []
        rule = self.live_rules.get("duplicate-example")
        others = self.by_key.get(ex.example_key, set()) - {row.uid}
        if rule is not None and others:
            other = self._position(min(others, key=lambda u: self._position(u, rows)), rows)
            out.append(
                rule.diagnostic(
                    self.display, index + 1, f"same conversation as line {other + 1}", related=(other + 1,)
                )
            )
        rule = self.live_rules.get("duplicate-prompt")
        others = (
            (self.by_prompt.get(ex.prompt, set()) - {row.uid} - self.by_key.get(ex.example_key, set()))
            if ex.prompt
            else set()
        )
        if rule is not None and others:
            other = self._position(min(others, key=lambda u: self._position(u, rows)), rows)
            out.append(
                rule.diagnostic(
                    self.display,
                    index + 1,
                    f"prompt already appears on line {other + 1}",
                    related=(other + 1,),
                )
            )
        return out

    def _position(self, uid: int, rows: Sequence[Row]) -> int:
        row = self.rows_by_uid.get(uid)
        try:
            return rows.index(row) if row is not None else 1 << 30
        except ValueError:
            return 1 << 30

    def _comparable(self, text: str) -> bool:
        return bool(text.strip()) and len(text.split()) >= self.near_min_words

    def flush_near(self) -> None:
        """Re-index the answers edited since the last query."""
        if self.near_index is None:
            return
        for uid in self._near_pending:
            row = self.rows_by_uid.get(uid)
            if uid in self.near_index:
                self.near_index.remove(uid)
            if row is not None and row.data is not None and uid in self.examples:
                text = "\n".join(answers_of(row))
                if self._comparable(text):
                    self.near_index.add(uid, text)
        self._near_pending.clear()

    def near_duplicates(self, row: Row, limit: int = 3) -> list[tuple[int, float]]:
        if self.near_index is None:
            return []
        self.flush_near()
        text = "\n".join(answers_of(row))
        if not self._comparable(text):
            return []
        found = [(k, s) for k, s in self.near_index.query(text, exclude=row.uid) if k in self.rows_by_uid]
        return sorted(found, key=lambda ks: -ks[1])[:limit]

    def panel(self, row: Row | None, index: int, rows: Sequence[Row], answer: int | None = None) -> PanelView:
        """The lint panel's content for `row`; `answer` picks which assistant turn is current."""
        words: int | None = None
        tokens = 0
        diags: list[Diagnostic] = []
        near: list[tuple[int, float]] = []
        have_tokens = self.ready
        if row is not None:
            diags = self.diagnostics_for(row, index, rows)
            answers = answers_of(row)
            if answers:
                pick = answers[answer] if answer is not None and answer < len(answers) else answers[0]
                words = len(pick.split())
                tokens = self.linter.counter.count_text(pick) if have_tokens else 0
            near = self.near_duplicates(row) if self.ready else []
        return PanelView(
            diagnostics=diags,
            answer_words=words,
            answer_tokens=tokens if have_tokens and words is not None else None,
            word_band=band(self.word_counts),
            token_band=band(self.token_counts) if have_tokens else None,
            histogram=histogram(self.word_counts, words),
            near=near,
            near_available=self.near_index is not None,
            dataset_diagnostics=list(self.file_diags),
            checked=row is None or row.uid in self.record_diags,
            file_checked=self.ready,
        )


def _discard(index: dict[Any, set[int]], key: Any, uid: int) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(uid)
        if not members:
            del index[key]


def band(counts: Counter[int]) -> Band:
    total = sum(counts.values())
    return Band(
        percentile(counts, total, 0.1), percentile(counts, total, 0.5), percentile(counts, total, 0.9), total
    )


def histogram(counts: Counter[int], current: int | None, bins: int = 8) -> Histogram:
    """Equal-width bins from 0 to the 99th percentile (longer answers go in the last bin)."""
    total = sum(counts.values())
    top = max(percentile(counts, total, 0.99), current or 0, 4 * bins - 1)
    width = max(1, -(-(top + 1) // bins))
    edges = [i * width for i in range(bins + 1)]
    hist = [0] * bins
    for value, n in counts.items():
        hist[min(bins - 1, value // width)] += n
    marked = None if current is None else min(bins - 1, bisect.bisect_right(edges, current) - 1)
    return Histogram(edges, hist, marked)
