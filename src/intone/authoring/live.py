"""Lint while typing: per-record rules on the edited record only, dataset context kept incrementally.

A full lint (every rule, the dataset profile, answer tokens, the near-duplicate index) runs once
in the background after opening and after saves; a keystroke then costs one record's rules, a few
dictionary updates and one near-duplicate query. No textual here.

What is kept per row is small (a million-line file must fit in memory): diagnostics only for rows
that have some, and two digests per record for the live duplicate checks. The length and token
figures of an unedited record are not kept: when it is first edited they are worked out again
from its bytes on disk, which is what the full lint saw.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from intone.authoring.live_index import (
    AnswerIndex,
    Stats,
    answers_of,
    first_of,
    index_add,
    index_discard,
    index_get,
    make_line,
    stats_of,
)
from intone.authoring.live_voice import VoiceContext
from intone.authoring.model import Row
from intone.authoring.panel_view import PanelView, panel_view
from intone.config import Settings
from intone.lint.context import LintContext
from intone.lint.diagnostic import SEVERITY_RANK, Diagnostic
from intone.lint.engine import Linter
from intone.lint.profile import DatasetProfile, example_stats
from intone.lint.registry import DatasetRule, LineRule, RecordRule, read_diagnostics
from intone.lint.rules.duplicates import DuplicateExample, DuplicatePrompt
from intone.lint.rules.neardup import NearDuplicate
from intone.schemas.jsonl import Line

LIVE_DATASET_RULES = ("duplicate-example", "duplicate-prompt", "near-duplicate")
"""Dataset rules whose verdict on the current example is recomputed as you type."""



class Cancelled(Exception):
    """The app is closing (or a newer lint replaced this one): stop early."""


def _never() -> bool:
    return False


def _similarity_module():
    try:
        return importlib.import_module("intone.lint.similarity")
    except ModuleNotFoundError:
        return None


@dataclass
class FullLint:
    """The result of linting a snapshot of rows (built in a worker thread)."""

    rows: list[Row]
    versions: list[int]
    """Each row's version when the snapshot was taken (read before its data)."""
    record_diags: dict[int, list[Diagnostic]]
    dataset_diags: dict[int, list[Diagnostic]]
    """Only rows with diagnostics have an entry."""
    file_diags: list[Diagnostic]
    word_counts: Counter[int]
    token_counts: Counter[int]
    by_key: dict[bytes, Any]
    by_prompt: dict[bytes, Any]
    edited_stats: dict[int, Stats]
    """Stats of the rows that differed from their bytes on disk when linted (the others' stats
    are worked out again from those bytes when needed)."""
    near_index: Any
    voice: Any = None
    """The dataset's voice for the edited answer (`VoiceContext`), or None."""


class LiveLint:
    """Per-row diagnostics and dataset context for the app, updated one record at a time."""

    def __init__(self, settings: Settings | None, display: str, linter: Linter | None = None) -> None:
        self.linter = linter or Linter(settings)
        rules = self.linter.rules_for(display)
        self.display = display
        self.ctx = LintContext(path=display, settings=self.linter.settings, counter=self.linter.counter)
        self.record_rules = [r for r in rules if isinstance(r, RecordRule)]
        self.line_rules = {r.problem: r for r in rules if isinstance(r, LineRule)}
        """Reader problem -> its rule, for `read_diagnostics` (the path batch lint takes too)."""
        self.dataset_rules = [r for r in rules if isinstance(r, DatasetRule)]
        self.live_rules = {r.name: r for r in self.dataset_rules if r.name in LIVE_DATASET_RULES}
        self.duplicate_example = next((r for r in rules if isinstance(r, DuplicateExample)), None)
        self.duplicate_prompt = next((r for r in rules if isinstance(r, DuplicatePrompt)), None)
        near = next((r for r in rules if isinstance(r, NearDuplicate)), None) or NearDuplicate()
        self.near_threshold = float(near.opt["threshold"])
        self.near_min_words = int(near.opt["min-words"])
        """Answers shorter than this are not compared (as the near-duplicate rule does)."""
        self.similarity: Any = None
        """intone.lint.similarity, imported by the worker that builds the index (numpy is slow to load)."""
        self.has_similarity = importlib.util.find_spec("intone.lint.similarity") is not None
        self.record_diags: dict[int, list[Diagnostic]] = {}
        """Per row uid; after a full lint, only rows with diagnostics (and rows checked since)."""
        self.dataset_diags: dict[int, list[Diagnostic]] = {}
        self.file_diags: list[Diagnostic] = []
        self.stats: dict[int, Stats] = {}
        """Stats of the records counted as edited (see `_counted`)."""
        self.word_counts: Counter[int] = Counter()
        self.token_counts: Counter[int] = Counter()
        self.by_key: dict[bytes, Any] = {}
        self.by_prompt: dict[bytes, Any] = {}
        self.near_index: Any = None
        self.voice: VoiceContext | None = None
        self.rows_by_uid: dict[int, Row] = {}
        self.linted_version: dict[int, int] = {}
        """Row uid -> the version the full lint saw; -1 once its clean figures were taken out."""
        self.ready = False
        self.severity_counts: Counter[str] = Counter()
        self._near_pending: set[int] = set()

    # ------------------------------------------------------------------ full lint

    def full_lint(
        self, rows: Sequence[Row], *, with_near: bool = True, cancelled: Callable[[], bool] = _never
    ) -> FullLint:
        """Lint every row (thread-safe: reads each row's version, then its data, once).

        Lines are made one at a time as the linter reads them, so that the records of a big file
        are never all in memory at once. Raises Cancelled soon after `cancelled()` turns true."""
        rows = list(rows)
        versions = [r.version for r in rows]
        record_names = {r.name for r in self.record_rules} | {r.name for r in self.line_rules.values()}

        def lines() -> Iterator[Line]:
            for number, row in enumerate(rows, 1):
                if cancelled():
                    raise Cancelled
                yield make_line(row, number)

        report = self.linter.lint_lines(lines(), self.display)
        record_diags: dict[int, list[Diagnostic]] = {}
        dataset_diags: dict[int, list[Diagnostic]] = {}
        file_diags: list[Diagnostic] = []
        for diag in report.diagnostics:
            if diag.line is None or not 1 <= diag.line <= len(rows):
                file_diags.append(diag)
            else:
                table = record_diags if diag.name in record_names else dataset_diags
                table.setdefault(rows[diag.line - 1].uid, []).append(diag)
        profile: DatasetProfile = report.profile  # type: ignore[assignment]
        del report
        counts = iter(self.linter.counter.count_texts([a for ex in profile.examples for a in ex.answers]))
        word_counts: Counter[int] = Counter()
        token_counts: Counter[int] = Counter()
        by_key: dict[bytes, Any] = {}
        by_prompt: dict[bytes, Any] = {}
        edited: dict[int, Stats] = {}
        for ex in profile.examples:
            row = rows[ex.line - 1]
            stats = stats_of(ex, [next(counts) for _ in ex.answers])
            word_counts.update(stats.words)
            token_counts.update(stats.tokens)
            index_add(by_key, stats.key, row.uid)
            if stats.prompt is not None:
                index_add(by_prompt, stats.prompt, row.uid)
            if versions[ex.line - 1] != row.clean_version:
                edited[row.uid] = stats
        voice = VoiceContext.fit(profile, self.dataset_rules)
        del profile
        near_index = self.build_near(rows, versions, cancelled)[0] if with_near else None
        return FullLint(
            rows,
            versions,
            record_diags,
            dataset_diags,
            file_diags,
            word_counts,
            token_counts,
            by_key,
            by_prompt,
            edited,
            near_index,
            voice,
        )

    def build_near(
        self,
        rows: Sequence[Row],
        versions: Sequence[int] | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> tuple[Any, dict[int, int]]:
        """A fresh near-duplicate index of every answer (slow for big files: run in a worker).

        Returns it and the version of each row it indexed; raises Cancelled when asked to."""
        versions = versions if versions is not None else [r.version for r in rows]
        indexed: dict[int, int] = {}
        if self.similarity is None and self.has_similarity:
            self.similarity = _similarity_module()
        if self.similarity is None:
            return None, indexed
        near_index = AnswerIndex(self.similarity, self.near_threshold, self.near_min_words)
        for row, version in zip(rows, versions):
            if cancelled():
                raise Cancelled
            if row.broken:
                continue
            indexed[row.uid] = version
            near_index.add(row.uid, answers_of(row))
        return near_index, indexed

    def adopt_near(self, near_index: Any, indexed: dict[int, int], current_rows: Sequence[Row]) -> None:
        """Take a built index (UI thread) and bring it up to date with edits made meanwhile."""
        live = {r.uid: r for r in current_rows}
        for uid in list(indexed):
            row = live.get(uid)
            if row is None or row.version != indexed[uid]:
                near_index.remove(uid)
        for row in current_rows:
            if not row.broken and indexed.get(row.uid) != row.version:
                near_index.add(row.uid, answers_of(row))
        self.near_index = near_index

    def adopt(self, result: FullLint, current_rows: Sequence[Row]) -> set[int]:
        """Take a full lint's results (UI thread); rows edited meanwhile are re-linted live.

        Returns the uids whose data changed since the snapshot."""
        self.record_diags = result.record_diags
        self.dataset_diags = result.dataset_diags
        self.file_diags = result.file_diags
        self.word_counts = result.word_counts
        self.token_counts = result.token_counts
        self.by_key, self.by_prompt = result.by_key, result.by_prompt
        self.stats = result.edited_stats
        if result.near_index is not None:
            self.near_index = result.near_index
        self.voice = result.voice
        self.rows_by_uid = {r.uid: r for r in current_rows}
        self.linted_version = {r.uid: v for r, v in zip(result.rows, result.versions)}
        self.ready = True
        stale: set[int] = set()
        live_uids = self.rows_by_uid
        for table in (self.record_diags, self.dataset_diags):
            for uid in [u for u in table if u not in live_uids]:
                del table[uid]
        for row in result.rows:
            if row.uid not in live_uids:  # deleted meanwhile: its figures come out
                self.rows_by_uid[row.uid] = row
                self._forget(row.uid)
                del self.rows_by_uid[row.uid]
        for index, row in enumerate(current_rows):
            if self.linted_version.get(row.uid) != row.version:
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
        new = list(read_diagnostics(line, self.line_rules, self.display))
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
        stats = self._stats_of_line(line)
        if stats is None:
            return
        self._add(row.uid, stats)
        self.stats[row.uid] = stats
        self._near_pending.add(row.uid)  # re-indexed when next queried (debounced panel update)

    def remove_row(self, row: Row) -> None:
        self._count(self.record_diags.pop(row.uid, []), -1)
        self._count(self.dataset_diags.pop(row.uid, []), -1)
        self._forget(row.uid)
        self.rows_by_uid.pop(row.uid, None)

    def _stats_of_line(self, line: Line) -> Stats | None:
        ex = example_stats(line)
        if ex is None:
            return None
        return stats_of(ex, self.linter.counter.count_texts(ex.answers))

    def _counted(self, uid: int) -> Stats | None:
        """The figures now counted for `uid`: kept if it was edited, else worked out again from
        its bytes on disk (what the full lint saw); None when nothing is counted for it."""
        stats = self.stats.get(uid)
        if stats is not None:
            return stats
        row = self.rows_by_uid.get(uid)
        if row is None or row.broken or self.linted_version.get(uid, -1) != row.clean_version:
            return None  # (saved since with other content: the next full lint recounts it)
        data = row.clean_data()
        line = Line(number=1, raw=b"", ending=b"\n", data=data, record=row.record(data))
        return self._stats_of_line(line)

    def _add(self, uid: int, stats: Stats) -> None:
        self.word_counts.update(stats.words)
        self.token_counts.update(stats.tokens)
        index_add(self.by_key, stats.key, uid)
        if stats.prompt is not None:
            index_add(self.by_prompt, stats.prompt, uid)

    def _forget(self, uid: int, near: bool = True) -> None:
        stats = self._counted(uid)
        self.stats.pop(uid, None)
        if uid in self.linted_version:
            self.linted_version[uid] = -1  # its clean figures are out: never taken out twice
        if stats is not None:
            self.word_counts.subtract(stats.words)
            self.word_counts += Counter()  # drop zero counts
            self.token_counts.subtract(stats.tokens)
            self.token_counts += Counter()
            index_discard(self.by_key, stats.key, uid)
            if stats.prompt is not None:
                index_discard(self.by_prompt, stats.prompt, uid)
        if near:
            self._near_pending.discard(uid)
            if self.near_index is not None:
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
        edited = self.linted_version.get(row.uid) != row.version
        for d in self.dataset_diags.get(row.uid, []):
            if not (edited and d.name in self.live_rules):
                diags.append(d)
        if edited and self.ready:
            diags.extend(self._live_duplicates(row, index, rows))
        return sorted(diags, key=lambda d: (-SEVERITY_RANK[d.severity], d.code))

    def _live_duplicates(self, row: Row, index: int, rows: Sequence[Row]) -> list[Diagnostic]:
        stats = self.stats.get(row.uid)
        if stats is None:
            return []
        """The duplicate rules' own findings for this row, from the live indexes of keys to rows
        (the first row with the key, in file order, is the one the batch rules relate to)."""
        out = []
        same_example = index_get(self.by_key, stats.key)
        rule = self.duplicate_example
        if rule is not None:
            first = first_of(same_example, rows)
            found = rule.finding(self.display, index + 1, first[0] + 1) if first is not None else None
            if found is not None:
                out.append(found)
        prompt_rule = self.duplicate_prompt
        if prompt_rule is not None and stats.prompt is not None:
            first = first_of(index_get(self.by_prompt, stats.prompt), rows)
            if first is not None:
                found = prompt_rule.finding(
                    self.display, index + 1, stats.prompt_text, first[0] + 1, first[1] in same_example
                )
                if found is not None:
                    out.append(found)
        return out

    def flush_near(self) -> None:
        """Re-index the answers edited since the last query."""
        if self.near_index is None:
            return
        for uid in self._near_pending:
            row = self.rows_by_uid.get(uid)
            self.near_index.remove(uid)
            if row is not None and not row.broken and uid in self.stats:
                self.near_index.add(uid, answers_of(row))
        self._near_pending.clear()

    def near_duplicates(self, row: Row, limit: int = 3) -> list[tuple[int, float]]:
        if self.near_index is None:
            return []
        self.flush_near()
        found = [(k, s) for k, s in self.near_index.query(answers_of(row), exclude=row.uid) if k in self.rows_by_uid]
        return found[:limit]

    def panel(self, row: Row | None, index: int, rows: Sequence[Row], answer: int | None = None) -> PanelView:
        """The lint panel's content for `row` (see `panel_view`)."""
        return panel_view(self, row, index, rows, answer)
