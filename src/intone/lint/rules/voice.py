"""Voice rules: style drift, stock openers and closers, catchphrase shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.stats import evenly_spaced
from intone.lint.text import phrase_key

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile
    from intone.lint.style import AnswerStyle, Feature

# Openers/closers made only of these say nothing about a voice ("I ...", "... you.").
EDGE_STOPWORDS = frozenset(
    w.replace("'", "")  # words carry no apostrophes (intone.lint.text)
    for w in [
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "the",
        "a",
        "an",
        "it",
        "it's",
        "its",
        "that",
        "that's",
        "this",
        "there",
        "there's",
        "here",
        "you",
        "you're",
        "your",
        "we",
        "my",
        "me",
        "and",
        "but",
        "so",
        "or",
        "if",
        "in",
        "on",
        "at",
        "to",
        "of",
        "for",
        "with",
        "is",
        "was",
        "be",
        "not",
        "no",
        "yes",
        "what",
        "when",
        "how",
        "why",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "our",
        "us",
        "too",
        "now",
        "then",
        "just",
        "all",
        "one",
    ]
)
# Catchphrase n-grams made only of these are ordinary grammar ("one of the", "i don't know").
NGRAM_STOPWORDS = EDGE_STOPWORDS | frozenset(
    w.replace("'", "")
    for w in [
        "do",
        "don't",
        "did",
        "didn't",
        "does",
        "doesn't",
        "can",
        "can't",
        "could",
        "would",
        "should",
        "will",
        "won't",
        "have",
        "has",
        "had",
        "been",
        "are",
        "were",
        "am",
        "as",
        "by",
        "from",
        "about",
        "up",
        "out",
        "into",
        "over",
        "than",
        "like",
        "very",
        "really",
        "much",
        "more",
        "some",
        "any",
        "know",
        "think",
        "want",
        "get",
        "got",
        "go",
        "going",
        "make",
        "made",
        "take",
        "say",
        "said",
        "see",
        "look",
        "well",
        "oh",
    ]
)


def _short(lines: list[int], limit: int = 8) -> str:
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (", …" if len(lines) > limit else "")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


# ---------------------------------------------------------------------------- style drift


class StyleDrift(DatasetRule):
    """
    ## What it does
    Compares every answer of at least `min-words` words with the rest of the dataset on
    interpretable stylometric features: words per sentence; exclamation, question, comma,
    dash and colon rates; CAPS emphasis; contractions; first- and second-person pronouns; the
    function-word profile; letters per word; type-token ratio (vocabulary richness); markdown;
    emoji; and stock assistant phrases ("Certainly", "I hope this helps"). Each feature is
    scaled robustly (median and MAD over the dataset, with a floor per feature). An answer is
    reported, on its line, when at least `min-features` features deviate by `min-z` or more and
    its three largest deviations (each capped at 6) add up to `min-score`; inside a stretch
    found drifting along file order (below), an answer is also reported when it moves at least
    one robust unit in the drift's direction on two of the drift's features.

    It also looks for drift along file order: it splits the file into blocks and reports, once
    for the dataset, a contiguous stretch whose mean feature values differ from the rest's on
    at least `min-drift-features` features, by at least 0.6 robust units and with a Welch
    t-statistic of at least 5.

    Files with more than 2,000 answers are judged on an evenly spaced sample of 2,000.

    ## Why is this bad?
    A persona is its voice. Answers written on another day, by another writer or pasted from
    a generic assistant pull the fine-tuned model towards an average voice. A later stretch in
    another voice usually means a second batch of data that nobody re-read.

    ## Example
    A persona with short sentences, contractions and exclamations, whose last quarter reads
    "Certainly! Here are some considerations... 1. **Window**: review regularly."

    ## Use instead
    Rewrite the flagged answers in the persona's voice, or drop them.

    ## Options
    - `min-words` (int, default 30): shorter answers are too noisy to judge one by one.
    - `min-z` (float, default 3.0): robust z-score at which a feature counts as deviating.
    - `min-features` (int, default 2): deviating features needed to report an answer.
    - `min-score` (float, default 9.0): needed sum of the three largest |z| (each capped at 6).
    - `min-answers` (int, default 20): fewest answers of `min-words` words needed to judge.
    - `min-drift-features` (int, default 3): features that must differ for a file-order drift.
    """

    code = "IN410"
    name = "style-drift"
    severity = "warning"
    summary = "An answer, or a stretch of the file, is written in another voice"
    fix_hint = "Rewrite this answer in the persona's voice, or drop it."
    options = (
        Option("min-words", 30, "Shorter answers are not judged one by one.", low=0),
        Option("min-z", 3.0, "Robust z-score at which a feature counts as deviating.", low=0),
        Option("min-features", 2, "Deviating features needed to report an answer.", low=1),
        Option("min-score", 9.0, "Needed sum of the three largest |z| (each capped at 6).", low=0),
        Option("min-answers", 20, "Fewest long-enough answers needed to judge.", low=2),
        Option("min-drift-features", 3, "Features that must differ for a file-order drift.", low=1),
    )
    CAP = 6.0
    DRIFT_EFFECT = 0.6
    """File-order drift: smallest mean difference of a feature, in robust units."""
    DRIFT_T = 5.0
    """File-order drift: smallest Welch t-statistic of that difference."""
    ALONG_Z = 1.0
    """Inside a drifted stretch: |z| an answer needs on a drift feature, in the drift's direction."""
    REF_MIN_WORDS = 12
    """Answers of at least this many words define the typical voice."""

    def _score(self, z: dict[str, float]) -> tuple[float, list[tuple[float, Feature]]]:
        """(sum of the three largest capped |z|, features at or beyond min-z, largest first)."""
        from intone.lint.style import FEATURES

        ranked = sorted(((abs(z[f.key]), f) for f in FEATURES), key=lambda d: -d[0])
        score = sum(min(d, self.CAP) for d, _f in ranked[:3])
        return score, [(d, f) for d, f in ranked if d >= self.opt["min-z"]]

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        from intone.lint.style import RobustScale, describe, top_function_differences

        positions, styles, fprofile = profile.styles()
        answers = profile.answers()
        min_words = self.opt["min-words"]
        drift, drifted, drift_features = self._file_order_drift(profile, positions, styles)
        reference = [s for s in styles if s.words >= self.REF_MIN_WORDS]
        judged = [(p, s) for p, s in zip(positions, styles, strict=True) if s.words >= min_words]
        if len(judged) >= self.opt["min-answers"] and len(reference) >= self.opt["min-answers"]:
            # Two passes: fit, set aside answers that already look foreign, refit on the rest, so a
            # drifted quarter of the file does not drag the "typical" voice towards itself.
            first = RobustScale.fit(reference, flag_share=False)
            typical = [s for s in reference if self._score(first.z(s))[0] < 0.6 * self.opt["min-score"]]
            ref = RobustScale.fit(typical if len(typical) >= self.opt["min-answers"] else reference)
            # Yes/no features keep the share over all answers: a sign-off that a fifth of the
            # answers use is repeated-closer's business, not a voice change.
            # A stretch found drifting along file order is left out of that share.
            ref.adopt_flags(
                RobustScale.fit(
                    [
                        s
                        for p, s in zip(positions, styles, strict=True)
                        if s.words >= self.REF_MIN_WORDS and p not in drifted
                    ]
                    or reference
                )
            )
            best: dict[int, tuple[float, list[tuple[float, Feature]], AnswerStyle]] = {}
            for pos, style in judged:
                score, devs = self._score(ref.z(style))
                line = answers[pos][0]
                if pos in drifted and (len(devs) < self.opt["min-features"] or score < self.opt["min-score"]):
                    # Inside a stretch that drifts as a whole, an answer that moves the same way
                    # on at least two of the drift's features belongs to it.
                    z = ref.z(style)
                    along = [
                        (abs(z[f.key]), f) for f, sign in drift_features if z[f.key] * sign >= self.ALONG_Z
                    ]
                    if len(along) >= 2:
                        best[line] = (-1.0, sorted(along, key=lambda d: -d[0]), style)
                    continue
                if len(devs) < self.opt["min-features"] or score < self.opt["min-score"]:
                    continue
                if line not in best or score > best[line][0]:
                    best[line] = (score, devs, style)
            for line, (score, devs, style) in sorted(best.items()):
                fw = top_function_differences(style, fprofile)
                parts = [describe(f, style.values[f.key], ref.center[f.key], style, fw) for _d, f in devs[:4]]
                where = "; like the drifted stretch around it" if score < 0 else ""
                yield self.diagnostic(
                    ctx.path,
                    line,
                    f"voice differs from the rest ({style.words} words): {'; '.join(parts)}{where}",
                )
        if drift is not None:
            yield drift

    def _file_order_drift(
        self, profile: DatasetProfile, positions: list[int], styles: list[AnswerStyle]
    ) -> tuple[Diagnostic | None, set[int], list[tuple[Feature, float]]]:
        """The strongest stretch along file order in another voice: (diagnostic, its answer
        positions, [(feature, direction)]), or (None, empty set, [])."""
        from intone.lint.style import FEATURES, RobustScale

        answers = profile.answers()
        chosen = [(p, s) for p, s in zip(positions, styles, strict=True) if s.words >= self.REF_MIN_WORDS]
        n = len(chosen)
        if n < 30:
            return None, set(), []
        ref = RobustScale.fit([s for _p, s in chosen])
        import numpy as np

        keys = [f.key for f in FEATURES]
        z = np.clip(
            np.array([[zd[k] for k in keys] for zd in (ref.z(s) for _p, s in chosen)]), -self.CAP, self.CAP
        )
        # Prefix sums give every stretch's mean and variance per feature in O(1).
        c1 = np.vstack([np.zeros(len(keys)), np.cumsum(z, axis=0)])
        c2 = np.vstack([np.zeros(len(keys)), np.cumsum(z * z, axis=0)])
        total1, total2 = c1[-1], c2[-1]
        n_blocks = min(12, n // 5)
        bounds = [round(b * n / n_blocks) for b in range(n_blocks + 1)]
        best = None
        for length in range(2, n_blocks // 2 + 1):
            for start in range(n_blocks - length + 1):
                lo, hi = bounds[start], bounds[start + length]
                n_in, n_out = hi - lo, n - (hi - lo)
                s1, s2 = c1[hi] - c1[lo], c2[hi] - c2[lo]
                m_in, m_out = s1 / n_in, (total1 - s1) / n_out
                v_in = np.maximum(s2 - n_in * m_in**2, 0) / max(1, n_in - 1)
                v_out = np.maximum((total2 - s2) - n_out * m_out**2, 0) / max(1, n_out - 1)
                effect = m_in - m_out
                se = np.sqrt(v_in / n_in + v_out / n_out)
                t = np.where(
                    se > 0, np.abs(effect) / np.where(se > 0, se, 1), np.where(effect != 0, np.inf, 0)
                )
                hits = np.flatnonzero((np.abs(effect) >= self.DRIFT_EFFECT) & (t >= self.DRIFT_T))
                if hits.size >= self.opt["min-drift-features"]:
                    strength = float(np.minimum(t[hits], 1e6).sum())
                    if best is None or strength > best[0]:
                        found = sorted(
                            ((float(t[i]), FEATURES[i], float(np.sign(effect[i]))) for i in hits),
                            key=lambda f: -f[0],
                        )
                        best = (strength, lo, hi, found)
        if best is None:
            return None, set(), []
        _strength, lo, hi, found = best
        parts = []
        for _t, feat, _sign in found[:4]:
            inside = [s.values[feat.key] for _p, s in chosen[lo:hi]]
            outside = [s.values[feat.key] for _p, s in chosen[:lo] + chosen[hi:]]
            parts.append(_compare(feat, inside, outside))
        first_line = answers[chosen[lo][0]][0]
        last_line = answers[chosen[hi - 1][0]][0]
        share = (hi - lo) / n
        where = "the end" if hi == n else "the start" if lo == 0 else "the middle"
        stretch = {p for p, _s in chosen[lo:hi]}
        return (
            self.diagnostic(
                profile.path,
                None,
                f"lines {first_line}–{last_line} ({_pct(share)} of judged answers, at {where} of the file) "
                f"read differently from the rest: {'; '.join(parts)}",
                fix="Re-read that stretch: rewrite it in the persona's voice or drop it.",
                related=(first_line, last_line),
            ),
            stretch,
            [(feat, sign) for _t, feat, sign in found],
        )


def _compare(feat: Feature, inside: list[float], outside: list[float]) -> str:
    from intone.lint.style import median

    if feat.unit == "flag":
        a = sum(1 for v in inside if v) / len(inside)
        b = sum(1 for v in outside if v) / len(outside)
        return f"{feat.label} in {_pct(a)} vs {_pct(b)} of answers"
    a, b = median(inside), median(outside)
    if feat.key == "sentence_words":
        return f"sentences {a:.1f} vs {b:.1f} words (median)"
    if feat.unit == "rate":
        return f"{feat.label} {a:.1f} vs {b:.1f} per 100 words (median)"
    return f"{feat.label} {a:.2f} vs {b:.2f} (median)"


# ---------------------------------------------------------------------------- openers/closers


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
                f"'{phrase}' {verb} {over[gram]} of {total} answers{sample} ({_pct(over[gram] / total)}, flag > "
                f"{_pct(self.opt['max-share'])}); lines {_short(lines)}",
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


# ---------------------------------------------------------------------------- catchphrases


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
    function words) that appear in more than `max-share` of the answers. Phrases that mostly
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
                where = f"; lines {_short(lines)}" if lines else ""
                yield self.diagnostic(
                    ctx.path,
                    None,
                    f"marker '{phrase}' is in {found.answers} of {found.judged} answers{sample_note} "
                    f"({100 * share:.1f}%), target {_pct(lo)}–{_pct(hi)}{where}",
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
                f"({_pct(found.share)}, flag > {_pct(self.opt['max-share'])}); "
                f"lines {_short(found.lines)}",
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
        doc_freq: Counter[tuple[str, ...]] = Counter()
        edge_freq: Counter[tuple[str, ...]] = Counter()
        split_texts = [t.split() for t in texts]
        for ws in split_texts:
            doc_freq.update({tuple(ws[i : i + min_n]) for i in range(len(ws) - min_n + 1)})
        # A longer phrase over the limit has every shorter piece over it: extend only those.
        frequent = {g for g, c in doc_freq.items() if c > limit}
        for n in range(min_n + 1, self.MAX_N + 1):
            if not frequent:
                break
            grams: Counter[tuple[str, ...]] = Counter()
            for ws in split_texts:
                grams.update(
                    {
                        tuple(ws[i : i + n])
                        for i in range(len(ws) - n + 1)
                        if tuple(ws[i : i + n - 1]) in frequent and tuple(ws[i + 1 : i + n]) in frequent
                    }
                )
            frequent = {g for g, c in grams.items() if c > limit}
            doc_freq.update({g: grams[g] for g in frequent})
        over = [g for g, c in doc_freq.items() if c > limit and not all(w in NGRAM_STOPWORDS for w in g)]
        if not over:
            return found
        # Only maximal phrases: drop an n-gram inside a longer reported one with nearly its count.
        over.sort(key=lambda g: (-len(g), -doc_freq[g]))
        kept: list[tuple[str, ...]] = []
        for g in over:
            joined = " " + " ".join(g) + " "
            if any(joined in " " + " ".join(k) + " " and doc_freq[k] >= 0.8 * doc_freq[g] for k in kept):
                continue
            kept.append(g)
        for g in sorted(kept, key=lambda g: -doc_freq[g]):
            needle = " " + " ".join(g) + " "
            for text in texts:
                if text.startswith(needle) or text.endswith(needle):
                    edge_freq[g] += 1
            if edge_freq[g] >= 0.8 * doc_freq[g]:
                continue  # an opener or closer: repeated-opener/closer report it
            hits = [positions[k] for k, t in enumerate(texts) if needle in t]
            lines = sorted({answers[i][0] for i in hits})
            found.append(MarkerShare(" ".join(g), (0.0, self.opt["max-share"]), len(hits), len(texts), len(answers),
                                     lines))
        return found
