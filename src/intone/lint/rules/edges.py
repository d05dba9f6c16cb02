"""repeated-opener and repeated-closer: many answers that start, or end, with the same words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.text import line_list, percent
from intone.lint.wordlists import EDGE_STOPWORDS

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile


class _RepeatedEdge(DatasetRule):
    """Shared by repeated-opener and repeated-closer."""

    end: int  # 0: first words, 1: last words
    options = (
        Option("max-share", 0.15, "Flag a phrase that opens/closes more than this share of answers.", low=0, high=1),
        Option("min-count", 5, "Fewest answers sharing the phrase before it is reported.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        positions, edges = profile.edges()
        answers = profile.answers()
        total = sum(1 for e in edges if e[self.end])
        if total < self.opt["min-answers"]:
            return
        sample = "" if len(positions) == len(answers) else f" (sample of {len(positions)})"
        counts: Counter[tuple[str, ...]] = Counter()
        for edge in edges:
            words = edge[self.end]
            for n in range(1, min(3, len(words)) + 1):
                gram = words[:n] if self.end == 0 else words[-n:]
                if n == 1 and gram[0] in EDGE_STOPWORDS:
                    continue
                counts[gram] += 1
        limit = max(self.opt["max-share"] * total, self.opt["min-count"] - 1)
        over = {g: c for g, c in counts.items() if c > limit}
        # Report the longest phrases only: "hmm let me" hides "hmm" when they cover the same answers.
        reported = []
        for gram in sorted(over, key=lambda g: (-len(g), -over[g])):
            if any(
                _contains(longer, gram, self.end) and over[longer] >= 0.8 * over[gram] for longer in reported
            ):
                continue
            reported.append(gram)
        for gram in sorted(reported, key=lambda g: -over[g]):
            lines = [
                answers[positions[i]][0]
                for i, e in enumerate(edges)
                if (e[self.end][: len(gram)] if self.end == 0 else e[self.end][-len(gram) :]) == gram
            ]
            lines = sorted(set(lines))
            phrase = " ".join(gram)
            verb = "opens" if self.end == 0 else "closes"
            yield self.diagnostic(
                ctx.path,
                None,
                f"'{phrase}' {verb} {over[gram]} of {total} answers{sample} ({percent(over[gram] / total)}, flag > "
                f"{percent(self.opt['max-share'])}); lines {line_list(lines)}",
                related=lines[:50],
            )


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...], end: int) -> bool:
    if len(longer) <= len(shorter):
        return False
    return longer[: len(shorter)] == shorter if end == 0 else longer[-len(shorter) :] == shorter


class RepeatedOpener(_RepeatedEdge):
    """
    ## What it does
    Counts the first one, two and three words of every answer (case and punctuation ignored)
    and reports a phrase that opens more than `max-share` of the answers. One-word openers that
    are plain grammar ("I", "The", "It") are not counted. Files with more than 5,000 answers are
    judged on an evenly spaced sample of 5,000.

    ## Why is this bad?
    A fine-tuned model copies the most frequent opening: if a quarter of the answers start with
    "Hmm," the model will start almost every answer that way.

    ## Example
    35 of 140 answers begin "Hmm, ...".

    ## Use instead
    Vary the openings; start most answers straight away with the substance.

    ## Options
    - `max-share` (float, default 0.15): flag a phrase opening more than this share of answers.
    - `min-count` (int, default 5): fewest answers sharing the phrase.
    - `min-answers` (int, default 20): fewest answers needed to judge.
    """

    code = "IN420"
    name = "repeated-opener"
    severity = "warning"
    summary = "Many answers start with the same words"
    fix_hint = "Vary how answers open; cut the stock opener from most of them."
    end = 0


class RepeatedCloser(_RepeatedEdge):
    """
    ## What it does
    Counts the last one, two and three words of every answer (case and punctuation ignored)
    and reports a phrase that closes more than `max-share` of the answers. One-word closers
    that are plain grammar ("you", "it") are not counted. Files with more than 5,000 answers are
    judged on an evenly spaced sample of 5,000.

    ## Why is this bad?
    Stock sign-offs such as "I hope this helps!" become a reflex of the fine-tuned model and
    mark it as a generic assistant rather than the persona.

    ## Example
    28 of 140 answers end "... I hope this helps, love!".

    ## Use instead
    End answers when the content ends; keep a sign-off for the few answers that need one.

    ## Options
    - `max-share` (float, default 0.15): flag a phrase closing more than this share of answers.
    - `min-count` (int, default 5): fewest answers sharing the phrase.
    - `min-answers` (int, default 20): fewest answers needed to judge.
    """

    code = "IN421"
    name = "repeated-closer"
    severity = "warning"
    summary = "Many answers end with the same words"
    fix_hint = "End answers when the content ends; keep the sign-off for a few of them."
    end = 1
