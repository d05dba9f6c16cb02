"""catchphrase-imbalance: a phrase in too many answers, or a declared marker in too few or too many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cmp_to_key
from typing import TYPE_CHECKING

from intone.lint.profile import evenly_spaced
from intone.lint.registry import DatasetRule, Option
from intone.lint.text import line_list, percent, phrase_key
from intone.lint.wordlists import NGRAM_STOPWORDS

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile


@dataclass(frozen=True)
class MarkerShare:
    """How often one declared marker phrase occurs in the answers."""

    phrase: str
    target: tuple[float, float]
    answers: int
    """Answers (of those judged) that contain it."""
    judged: int
    """Answers looked at: all of them, or an evenly spaced sample."""
    total: int
    lines: list[int]
    pieces: tuple[tuple[str, int], ...] = ()
    """For a phrase merged from overlapping n-grams: each n-gram and the answers holding it."""

    @property
    def share(self) -> float:
        return self.answers / self.judged if self.judged else 0.0


class CatchphraseImbalance(DatasetRule):
    """
    ## What it does
    With markers declared in config, reports each marker whose share of answers (case and
    punctuation ignored) is outside its target range:

    ```toml
    [tool.intone.persona]
    markers = {"that's a tricky one" = [0.05, 0.30]}
    ```

    Without markers, reports word n-grams (`min-n` to 6 words, not made only of common
    function words) that appear in more than `max-share` of the answers. N-grams that share a
    sentence in at least a third of the answers holding the rarer one are one phrase ("for more
    information … refer to the … section of the documentation page"), reported once, counting
    the answers that hold any of its pieces. Phrases that mostly
    open or close answers are left to `repeated-opener` and `repeated-closer`. Files with more
    than 2,000 answers are judged on an evenly spaced sample of 2,000.

    ## Why is this bad?
    A catchphrase in half the answers becomes a tic the fine-tuned model repeats in every
    reply; one that appears in 1 of 111 answers will never be learned at all.

    ## Example
    "mark my words, barnacles and biscuits" in 63 of 140 answers.

    ## Use instead
    Keep each signature phrase to a deliberate share of the answers, and declare it as a
    marker so its share is checked.

    ## Options
    - `max-share` (float, default 0.25): without markers, flag an n-gram in more than this share.
    - `min-n` (int, default 3): shortest n-gram, in words, considered without markers.
    - `min-answers` (int, default 20): fewest answers needed to judge.
    """

    code = "IN430"
    name = "catchphrase-imbalance"
    severity = "warning"
    cost = 0.11
    summary = "A phrase is in too many answers, or a declared marker in too few or too many"
    fix_hint = "Keep each signature phrase to a deliberate share of the answers."
    options = (
        Option("max-share", 0.25, "Without markers, flag an n-gram in more than this share of answers.", low=0, high=1),
        Option("min-n", 3, "Shortest n-gram (in words) considered without markers.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )
    SAMPLE = 2000
    MAX_N = 6

    def marker_shares(self, profile: DatasetProfile, markers: dict[str, list[float]]) -> list[MarkerShare]:
        """Each declared marker's share of the answers (an evenly spaced sample of at most
        SAMPLE): what this rule judges, and what `intone stats` shows."""
        from intone.errors import ConfigError

        answers = profile.answers()
        positions = evenly_spaced(len(answers), self.SAMPLE)
        texts = [phrase_key(answers[i][1]) for i in positions]
        shares = []
        for phrase, target in markers.items():
            needle = phrase_key(phrase)
            if not needle.strip():
                raise ConfigError(f"[tool.intone.persona] markers: {phrase!r} has no words to count; write the phrase")
            hits = [positions[k] for k, t in enumerate(texts) if needle in t]
            lines = sorted({answers[i][0] for i in hits})
            shares.append(MarkerShare(phrase, (target[0], target[1]), len(hits), len(texts), len(answers), lines))
        return shares

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        answers = profile.answers()
        if len(answers) < self.opt["min-answers"]:
            return
        positions = evenly_spaced(len(answers), self.SAMPLE)
        sample_note = "" if len(positions) == len(answers) else f" (sample of {len(positions)})"
        markers = ctx.settings.persona.get("markers")
        if markers:  # checked when the settings were read (intone.config.check_persona)
            for found in self.marker_shares(profile, markers):
                phrase, share, lines = found.phrase, found.share, found.lines
                lo, hi = found.target
                if lo <= share <= hi:
                    continue
                where = f"; lines {line_list(lines)}" if lines else ""
                yield self.diagnostic(
                    ctx.path,
                    None,
                    f"marker '{phrase}' is in {found.answers} of {found.judged} answers{sample_note} "
                    f"({100 * share:.1f}%), target {percent(lo)}–{percent(hi)}{where}",
                    fix=(
                        f"Work '{phrase}' into more answers where it fits."
                        if share < lo
                        else f"Cut '{phrase}' from some answers."
                    ),
                    related=lines[:50],
                )
            return
        for found in self.frequent_phrases(profile):
            phrase = found.phrase
            yield self.diagnostic(
                ctx.path,
                None,
                f"'{phrase}' is in {found.answers} of {found.judged} answers{sample_note} "
                f"({percent(found.share)}, flag > {percent(self.opt['max-share'])}); "
                + (
                    "one phrase of overlapping pieces sharing sentences ("
                    + ", ".join(f"'{p}' in {n}" for p, n in found.pieces[:6])
                    + "); "
                    if found.pieces
                    else ""
                )
                + f"lines {line_list(found.lines)}",
                fix=(
                    f"Cut '{phrase}' from most answers, or declare it as a marker with its target "
                    "share in [tool.intone.persona] markers."
                ),
                related=found.lines[:50],
            )

    def frequent_phrases(self, profile: DatasetProfile) -> list[MarkerShare]:
        """Maximal word n-grams (min-n to MAX_N words, not only function words) in more than
        max-share of the answers, most frequent first, openers and closers left out: what this
        rule reports without markers, and what `intone stats` lists."""
        answers = profile.answers()
        positions = evenly_spaced(len(answers), self.SAMPLE)
        texts = [phrase_key(answers[i][1]) for i in positions]
        found: list[MarkerShare] = []
        limit = max(self.opt["max-share"] * len(texts), 2)  # and in at least 3 answers
        min_n = max(1, self.opt["min-n"])
        split_texts = [t.split() for t in texts]
        # How many answers hold each n-gram, for the n-grams over the limit (only those count).
        doc_freq: Counter[tuple[str, ...]] = Counter(_frequent_ngrams(texts, split_texts, min_n, limit))
        # A longer phrase over the limit has every shorter piece over it: extend only those, in
        # the answers holding one.
        frequent = set(doc_freq)
        active = _holding(texts, frequent, range(len(texts)))
        for n in range(min_n + 1, self.MAX_N + 1):
            if not frequent:
                break
            grams: Counter[tuple[str, ...]] = Counter()
            for k in active:
                ws = split_texts[k]
                grams.update(
                    {
                        tuple(ws[i : i + n])
                        for i in range(len(ws) - n + 1)
                        if tuple(ws[i : i + n - 1]) in frequent and tuple(ws[i + 1 : i + n]) in frequent
                    }
                )
            frequent = {g for g, c in grams.items() if c > limit}
            doc_freq.update({g: grams[g] for g in frequent})
            active = _holding(texts, frequent, active)
        over = [g for g, c in doc_freq.items() if c > limit and not all(w in NGRAM_STOPWORDS for w in g)]
        if not over:
            return found
        # Only maximal phrases: drop an n-gram inside a longer reported one with nearly its count.
        over.sort(key=lambda g: (-len(g), -doc_freq[g], g))  # ties by text: the same order every run
        kept: list[tuple[str, ...]] = []
        for g in over:
            joined = " " + " ".join(g) + " "
            if any(joined in " " + " ".join(k) + " " and doc_freq[k] >= 0.8 * doc_freq[g] for k in kept):
                continue
            kept.append(g)
        for members in _one_phrase_groups(kept, texts, answers, positions):
            needles = [_needle(g) for g in members]
            hit_k = [k for k, t in enumerate(texts) if any(n in t for n in needles)]
            edge = sum(1 for k in hit_k if any(texts[k].startswith(n) or texts[k].endswith(n) for n in needles))
            if edge >= 0.8 * len(hit_k):
                continue  # an opener or closer: repeated-opener/closer report it
            lines = sorted({answers[positions[k]][0] for k in hit_k})
            phrase = _fold(members, texts, hit_k)
            pieces = () if len(members) == 1 else tuple(
                sorted(((" ".join(g), doc_freq[g]) for g in members), key=lambda p: (-p[1], p[0]))
            )
            found.append(
                MarkerShare(phrase, (0.0, self.opt["max-share"]), len(hit_k), len(texts), len(answers), lines, pieces)
            )
        found.sort(key=lambda m: (-m.answers, m.phrase))
        return found


def _frequent_ngrams(
    texts: list[str], split_texts: list[list[str]], n: int, limit: float
) -> dict[tuple[str, ...], int]:
    """Every n-gram held by more than `limit` of the answers (`texts`: their `phrase_key`s,
    `split_texts`: their words), with how many hold it. The n-grams are hashed and counted with
    numpy (an answer's repeats count once); those over the limit are then counted exactly."""
    import numpy as np

    from intone.lint.similarity import shingle_hashes

    hashes, offsets = shingle_hashes(texts, n)
    lengths = np.fromiter(map(len, split_texts), dtype=np.int64, count=len(split_texts))
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(offsets))
    kept = lengths[text_of] >= n  # a shorter answer's one padded shingle is no n-gram
    slots, text_of = np.flatnonzero(kept), text_of[kept]
    grams = hashes[slots]
    order = np.lexsort((text_of, grams))
    grams, text_of, slots = grams[order], text_of[order], slots[order]
    # One per (n-gram, answer): the first of each run of equal pairs.
    first = np.ones(grams.size, dtype=bool)
    first[1:] = (grams[1:] != grams[:-1]) | (text_of[1:] != text_of[:-1])
    grams, text_of, slots = grams[first], text_of[first], slots[first]
    starts_of_gram = np.flatnonzero(np.concatenate(([True], grams[1:] != grams[:-1])))
    holders = np.diff(np.append(starts_of_gram, grams.size))
    found: dict[tuple[str, ...], int] = {}
    for at in starts_of_gram[holders > limit].tolist():
        k = int(text_of[at])
        i = int(slots[at] - offsets[k])
        gram = tuple(split_texts[k][i : i + n])
        needle = _needle(gram)
        count = sum(1 for t in texts if needle in t)  # exactly (hashes could collide)
        if count > limit:
            found[gram] = count
    return found


def _holding(texts: list[str], grams: set[tuple[str, ...]], among) -> list[int]:
    """Those of the answers `among` that hold one of these n-grams."""
    needles = [_needle(g) for g in grams]
    return [k for k in among if any(n in texts[k] for n in needles)]


def _needle(gram: tuple[str, ...]) -> str:
    """An n-gram as it stands, on word boundaries, in a `phrase_key` text."""
    return " " + " ".join(gram) + " "


def _one_phrase_groups(
    kept: list[tuple[str, ...]], texts: list[str], answers: list[tuple[int, str]], positions: list[int]
) -> list[list[tuple[str, ...]]]:
    """Frequent n-grams grouped into phrases: two belong together when they occur in the same
    sentence in at least a third of the answers holding the rarer one ("for more information",
    "refer to the" and "section of the" of one boilerplate sentence with a title between and
    small variations around it)."""
    if len(kept) < 2:
        return [[g] for g in kept]
    from intone.lint.text import _SENTENCE_END

    needles = [_needle(g) for g in kept]
    holding = [[k for k, t in enumerate(texts) if n in t] for n in needles]
    together: dict[tuple[int, int], int] = {}
    candidates = {k for ks in holding for k in ks}
    for k in candidates:
        present = [i for i, n in enumerate(needles) if n in texts[k]]
        if len(present) < 2:
            continue
        sentences = [phrase_key(piece) for piece in _SENTENCE_END.split(answers[positions[k]][1])]
        pairs = set()
        for sentence in sentences:
            inside = [i for i in present if needles[i] in sentence]
            pairs.update((a, b) for x, a in enumerate(inside) for b in inside[x + 1 :])
        for pair in pairs:
            together[pair] = together.get(pair, 0) + 1
    def linked(a: int, b: int) -> bool:
        count = together.get((min(a, b), max(a, b)), 0)
        return 3 * count >= min(len(holding[a]), len(holding[b]))

    # Most frequent first, each n-gram joins the group most of whose members it shares
    # sentences with (so one boilerplate sentence is one phrase, but a chain of loosely related
    # n-grams does not snowball into one).
    groups: list[list[int]] = []
    for i in sorted(range(len(kept)), key=lambda i: -len(holding[i])):
        best, best_share = None, 0.0
        for group in groups:
            share = sum(linked(i, j) for j in group) / len(group)
            if share > best_share:
                best, best_share = group, share
        if best is not None and best_share >= 0.5:
            best.append(i)
        else:
            groups.append([i])
    return [[kept[i] for i in group] for group in groups]


def _fold(members: list[tuple[str, ...]], texts: list[str], hit_k: list[int]) -> str:
    """One phrase for a group of n-grams: in their usual order (mean position in the answers
    holding them), overlapping ends merged ("section of the" + "the documentation page" ->
    "section of the documentation page") and gaps shown as "…"."""
    if len(members) == 1:
        return " ".join(members[0])

    def before(a: tuple[str, ...], b: tuple[str, ...]) -> int:
        # Where both occur, which usually comes first.
        na, nb = " " + " ".join(a) + " ", " " + " ".join(b) + " "
        votes = 0
        for k in hit_k:
            i, j = texts[k].find(na), texts[k].find(nb)
            if i >= 0 and j >= 0:
                votes += (i < j) - (i > j)
        return -votes or (len(a) > len(b)) - (len(a) < len(b))

    ordered = sorted(members, key=cmp_to_key(before))
    out = list(ordered[0])
    for g in ordered[1:]:
        if " " + " ".join(g) + " " in " " + " ".join(out) + " ":
            continue  # already inside the phrase
        for n in range(min(len(g), len(out)), 0, -1):
            if tuple(out[-n:]) == g[:n]:
                out.extend(g[n:])
                break
        else:
            out.extend(["…", *g])
    return " ".join(out)
