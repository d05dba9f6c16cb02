"""repeated-opener and repeated-closer: many answers that start, or end, with the same words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.text import line_list, percent
from intone.lint.text import words as split_words
from intone.lint.wordlists import EDGE_STOPWORDS, expand_contractions

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile


@dataclass
class EdgeCounts:
    positions: list[int]
    """Answer positions of the distinct answers counted."""
    edges: list[tuple[str, ...]]
    """Their first (or last) words."""
    total: int
    over: dict[tuple[str, ...], int]
    """Each reported phrase: how many answers it opens (or closes), not counting mirrored ones."""
    mirrored: Counter[tuple[str, ...]]


class _RepeatedEdge(DatasetRule):
    """Shared by repeated-opener and repeated-closer."""

    end: int  # 0: first words, 1: last words
    shares = "edges"  # `profile.edges()`: both rules read the same first and last words
    options = (
        Option("max-share", 0.15, "Flag a phrase that opens/closes more than this share of answers.", low=0, high=1),
        Option("min-count", 5, "Fewest answers sharing the phrase before it is reported.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )

    def over_used(self, profile: DatasetProfile) -> EdgeCounts | None:
        """The phrases this rule reports (longest first where they cover the same answers), with
        the counts it reports them with; None when there are too few answers to judge."""
        sampled, all_edges = profile.edges()
        original = profile.answer_original()
        # Distinct answers only: an answer pasted 20 times is one habit, not 20.
        keep = [k for k, p in enumerate(sampled) if original[p] == p and all_edges[k][self.end]]
        positions = [sampled[k] for k in keep]
        edges = [all_edges[k][self.end] for k in keep]
        total = len(edges)
        if total < self.opt["min-answers"]:
            return None
        counts: Counter[tuple[str, ...]] = Counter()
        for words in edges:
            for n in range(1, min(3, len(words)) + 1):
                gram = words[:n] if self.end == 0 else words[-n:]
                if n == 1 and gram[0] in EDGE_STOPWORDS:
                    continue
                counts[gram] += 1
        limit = max(self.opt["max-share"] * total, self.opt["min-count"] - 1)
        mirrored: Counter[tuple[str, ...]] = Counter()
        # Mirrored answers only lower a count, so only the phrases over the limit need them
        # (and only the prompts of the answers that open with one).
        candidates = {g for g, c in counts.items() if c > limit}
        if self.end == 0 and candidates:
            hits = [k for k, words in enumerate(edges) if any(words[:n] in candidates for n in (1, 2, 3))]
            prompts = self._prompt_openings(profile, [positions[k] for k in hits])
            for k, opening in zip(hits, prompts, strict=True):
                words = edges[k]
                for n in range(1, min(3, len(words)) + 1):
                    gram = words[:n]
                    if gram in candidates and _mirrors(gram, opening):
                        mirrored[gram] += 1
        # An opener that repeats the prompt's own opening ("I'm going home." -> "I am ...") is the
        # rewrite of the prompt, not a habit of the voice: only the other answers count.
        over = {g: c - mirrored[g] for g, c in counts.items() if c - mirrored[g] > limit}
        # Report the longest phrases only: "hmm let me" hides "hmm" when they cover the same answers.
        reported: list[tuple[str, ...]] = []
        for gram in sorted(over, key=lambda g: (-len(g), -over[g])):
            if any(
                _contains(longer, gram, self.end) and over[longer] >= 0.8 * over[gram] for longer in reported
            ):
                continue
            reported.append(gram)
        return EdgeCounts(positions, edges, total, {g: over[g] for g in reported}, mirrored)

    def matches(self, counts: EdgeCounts, answer: str) -> tuple[str, ...] | None:
        """The reported phrase that `answer` opens (or closes) with, as the rule counts words."""
        from intone.lint.text import edge_words

        words = edge_words(answer)[self.end]
        for gram in sorted(counts.over, key=lambda g: -len(g)):
            if (words[: len(gram)] if self.end == 0 else words[-len(gram):]) == gram:
                return gram
        return None

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        found = self.over_used(profile)
        if found is None:
            return
        answers = profile.answers()
        positions, edges, total, over, mirrored = found.positions, found.edges, found.total, found.over, found.mirrored
        copies = len(answers) - len(profile.distinct_answers())
        sample = f" (sample of {len(profile.edges()[0])})" if len(profile.edges()[0]) != len(answers) else ""
        distinct = " distinct" if copies else ""
        reported = list(over)
        verb = "opens" if self.end == 0 else "closes"
        for gram in sorted(reported, key=lambda g: -over[g]):
            hits = [k for k, e in enumerate(edges) if (e[: len(gram)] if self.end == 0 else e[-len(gram) :]) == gram]
            lines = sorted({answers[positions[k]][0] for k in hits})
            phrase = " ".join(gram)
            share = over[gram] / total
            mirror_note = ""
            if mirrored[gram]:
                mirror_note = f", not counting {mirrored[gram]} that repeat their prompt's opening"
            message = (
                f"'{phrase}' {verb} {over[gram]} of {total}{distinct} answers{sample}{mirror_note} "
                f"({percent(share)}, flag > {percent(self.opt['max-share'])}); lines {line_list(lines)}"
            )
            severity = None
            fix = None
            if self.end == 0 and len(gram) == 1:
                woven = _woven_in(gram[0], [answers[positions[k]][1] for k in hits], [edges[k] for k in hits])
                if woven is not None:
                    # "Use `requests` ..." / "Use guard clauses ...": the first word of varied
                    # sentences, not a phrase set off before the answer ("Hmm, ...", "Sure! ...").
                    severity = "info"
                    message += (
                        f"; it starts the sentence itself (followed by punctuation in {percent(woven[0])} of them, "
                        f"the next word varies: most common '{woven[1]}' in {percent(woven[2])}), so it is a "
                        "way of answering (e.g. an instruction) rather than a stock phrase"
                    )
                    fix = "If the persona should not always answer this way, vary how some answers start."
            yield self.diagnostic(ctx.path, None, message, related=lines[:50], severity=severity, fix=fix)

    @staticmethod
    def _prompt_openings(profile: DatasetProfile, positions: list[int]) -> list[tuple[str, ...]]:
        """The first words (contractions spelled out) of the prompt each answer replies to."""
        prompts = profile.answer_prompts()
        return [expand_contractions(split_words(prompts[p])[:4]) for p in positions]


def _mirrors(gram: tuple[str, ...], prompt_opening: tuple[str, ...]) -> bool:
    """The answer's opener is its prompt's own opening, contractions spelled out."""
    spelled = expand_contractions(gram)
    return len(prompt_opening) >= len(spelled) and prompt_opening[: len(spelled)] == spelled


_SET_OFF = frozenset(",.!?:;\u2014\u2013-\u2026)")
WOVEN_MAX_SET_OFF = 0.2
"""A one-word opener followed by punctuation in more answers than this is set off ("Hmm, ...")."""
WOVEN_MAX_NEXT = 0.5
"""... or one followed by the same word in more answers than this is a phrase ("Great question")."""


def _woven_in(word: str, texts: list[str], edges: list[tuple[str, ...]]) -> tuple[float, str, float] | None:
    """(share set off by punctuation, most common next word, its share) when a one-word opener
    begins the sentence itself, with varied continuations; None when it is set off or fixed."""
    set_off = 0
    for text in texts:
        rest = text.lstrip()
        # Skip the word itself (its letters, apostrophes and markup such as ** or `), then look
        # at the first character after it.
        i = 0
        while i < len(rest) and (rest[i].isalnum() or rest[i] in "'\u2019*_`"):
            i += 1
        if i < len(rest) and rest[i] in _SET_OFF:
            set_off += 1
    nexts = Counter(e[1] for e in edges if len(e) > 1)
    if not nexts:
        return None
    top, top_count = nexts.most_common(1)[0]
    off_share, top_share = set_off / len(texts), top_count / len(edges)
    if off_share > WOVEN_MAX_SET_OFF or top_share > WOVEN_MAX_NEXT:
        return None
    return off_share, top, top_share


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...], end: int) -> bool:
    if len(longer) <= len(shorter):
        return False
    return longer[: len(shorter)] == shorter if end == 0 else longer[-len(shorter) :] == shorter


class RepeatedOpener(_RepeatedEdge):
    """
    ## What it does
    Counts the first one, two and three words of every distinct answer (exact copies are
    counted once; case and punctuation ignored) and reports a phrase that opens more than
    `max-share` of them. One-word openers that are plain grammar ("I", "The", "It") are not
    counted, nor is an opener that repeats the opening of its own prompt (contractions spelled
    out: "I'm going home." -> "I am transitioning ..." is a rewrite keeping its subject, not a
    habit of the voice). A one-word opener that starts the sentence itself, never set off by
    punctuation and followed by varied words ("Use `requests` ...", "Use guard clauses ..."), is
    a way of answering such as an instruction, and is reported as info; a filler set off before
    the answer ("Hmm, ...", "Sure! ...") stays a warning. Files with more than 5,000 answers are
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
    cost = 0.1
    summary = "Many answers start with the same words"
    fix_hint = "Vary how answers open; cut the stock opener from most of them."
    end = 0


class RepeatedCloser(_RepeatedEdge):
    """
    ## What it does
    Counts the last one, two and three words of every distinct answer (exact copies are
    counted once; case and punctuation ignored) and reports a phrase that closes more than
    `max-share` of them. One-word closers
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
    cost = 0.015
    summary = "Many answers end with the same words"
    fix_hint = "End answers when the content ends; keep the sign-off for a few of them."
    end = 1
