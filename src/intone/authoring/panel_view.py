"""The lint panel's view model: what it shows for the current example, as plain data.

`panel_view` reads the live lint state (`live.LiveLint`) and returns a `PanelView`; the widget
(`widgets/lint_panel.py`) only draws it. No textual here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intone.authoring.model import Row
from intone.lint.diagnostic import Diagnostic
from intone.lint.text import quantile_of_counts, word_count

if TYPE_CHECKING:
    from intone.authoring.live import LiveLint


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
    voice: Any = None
    """This answer against the dataset's voice (`live.VoiceView`), or None."""


def band(counts: Counter[int]) -> Band:
    """The p10-median-p90 band of the answer lengths counted, as the length rules compute it."""
    return Band(*(round(quantile_of_counts(counts, q)) for q in (0.1, 0.5, 0.9)), sum(counts.values()))


def histogram(counts: Counter[int], current: int | None, bins: int = 8) -> Histogram:
    """Equal-width bins from 0 to the 99th percentile (longer answers go in the last bin)."""
    top = max(round(quantile_of_counts(counts, 0.99)), current or 0, 4 * bins - 1)
    width = max(1, -(-(top + 1) // bins))
    edges = [i * width for i in range(bins + 1)]
    hist = [0] * bins
    for value, n in counts.items():
        hist[min(bins - 1, value // width)] += n
    marked = None if current is None else min(bins - 1, bisect.bisect_right(edges, current) - 1)
    return Histogram(edges, hist, marked)


def panel_view(live: LiveLint, row: Row | None, index: int, rows: Sequence[Row], answer: int | None = None) -> PanelView:
    """The lint panel's content for `row`; `answer` picks which assistant turn is current."""
    from intone.authoring.live_index import answers_of

    words: int | None = None
    tokens = 0
    diags: list[Diagnostic] = []
    near: list[tuple[int, float]] = []
    voice = None
    have_tokens = live.ready
    if row is not None:
        diags = live.diagnostics_for(row, index, rows)
        answers = answers_of(row)
        if answers:
            pick = answers[answer] if answer is not None and answer < len(answers) else answers[0]
            words = word_count(pick)
            tokens = live.linter.counter.count_text(pick) if have_tokens else 0
            voice = live.voice.judge(pick) if live.voice is not None else None
        near = live.near_duplicates(row) if live.ready else []
    return PanelView(
        diagnostics=diags,
        answer_words=words,
        answer_tokens=tokens if have_tokens and words is not None else None,
        word_band=band(live.word_counts),
        token_band=band(live.token_counts) if have_tokens else None,
        histogram=histogram(live.word_counts, words),
        near=near,
        near_available=live.near_index is not None,
        dataset_diagnostics=list(live.file_diags),
        checked=row is None or live.ready or row.uid in live.record_diags,
        file_checked=live.ready,
        voice=voice,
    )
