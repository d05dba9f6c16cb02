"""Voice features of one answer, measured on its prose, and robust (median/MAD) comparison.

Voice is what survives a change of topic: how long the sentences are, the punctuation, the
contractions, which grammatical person speaks, the mix of function words, shouting, emoji and
stock assistant phrases. Content is masked first (code, commands, URLs, e-mail addresses, file
paths, identifiers, numbers, acronyms, list and heading markers), so an answer about TCP and
UDP, or one that gives a cURL example and numbered setup steps, is judged on the sentences
around them. Every feature is something a person can check by reading the answer; no model is
involved. `style-drift` and `intone stats` read these through the dataset profile.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from intone.lint.profile import normalize_ws
from intone.lint.style_mask import mask_content
from intone.lint.text import letter_words, median, quantile
from intone.lint.wordlists import (
    CONTRACTION_SUFFIXES,
    FIRST_PERSON,
    FUNCTION_INDEX,
    FUNCTION_MIN_RATE,
    FUNCTION_TOP,
    FUNCTION_WORDS,
    FUNCTION_Z_CAP,
    S_CONTRACTIONS,
    SECOND_PERSON,
    STOCK_PHRASES,
    THIRD_PERSON,
)

__all__ = ["mask_content", "median"]  # re-exported: the features' masking, the median they use

_STOCK_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(p) for p in STOCK_PHRASES) + r")(?![\w'])")
# All-caps tokens (and the one-letter "I"/"A", which may sit inside a shouted phrase).
_CAPS_TOKEN = re.compile(r"(?<![\w'’])(?:[A-Z][A-Z'’]*[A-Z]s?|[IA])(?![\w'’])")
_CAPS_HINT = re.compile(r"[A-Z][A-Z]")
_SENTENCE_SPLIT = re.compile(r"[.!?…]+[\"')\]’”]*(?=\s|$)|\n")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_SPACED_HYPHEN = re.compile(r"(?<=\s)-(?=\s)")
# A colon that ends its line introduces a block or a list (content); one inside a line is voice.
_COLONS = re.compile(r":(?![ \t]*(?:\n|$))")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
_COUNTED = frozenset(FUNCTION_INDEX) | FIRST_PERSON | SECOND_PERSON | THIRD_PERSON
"""The words `answer_style` counts by kind: function words and pronouns."""
SHOUT_RUN = 3
"""All-caps words in a row that make a shouted phrase rather than a list of acronyms."""
SHOUT_WORD = 6
"""An all-caps word at least this long is shouting; a shorter one alone is an acronym."""


# ---------------------------------------------------------------------------- features


@dataclass(frozen=True)
class Feature:
    """One voice feature: how to name it in a message, its smallest meaningful spread, and the
    family of habits it belongs to (an answer must differ in several families, so one habit
    measured twice counts once)."""

    key: str
    label: str
    unit: str
    """"rate" (per 100 words), "mean", or "flag"."""
    floor: float
    """Lower bound on the robust scale, so near-constant features don't turn tiny wobbles into
    big deviations."""
    family: str


FEATURES: tuple[Feature, ...] = (
    Feature("sentence_words", "words per sentence", "mean", 3.0, "sentence length"),
    Feature("commas", "commas", "rate", 2.0, "commas"),
    Feature("exclamations", "exclamations", "rate", 1.2, "exclamations"),
    Feature("questions", "questions", "rate", 1.2, "questions"),
    Feature("dashes", "dashes/ellipses", "rate", 1.0, "dashes"),
    Feature("semicolons", "semicolons/colons", "rate", 0.8, "semicolons"),
    Feature("shouting", "all-caps words", "rate", 1.0, "casing"),
    Feature("contractions", "contractions", "rate", 2.0, "contractions"),
    Feature("first_person", "first-person", "rate", 2.0, "pronoun person"),
    Feature("second_person", "second-person", "rate", 2.0, "pronoun person"),
    Feature("third_person", "third-person", "rate", 2.5, "pronoun person"),
    Feature("function_words", "function-word delta", "mean", 0.12, "function words"),
    Feature("word_letters", "letters per word", "mean", 0.35, "word length"),
    Feature("emoji", "emoji", "rate", 1.0, "emoji"),
    Feature("stock_phrases", "stock assistant phrases", "flag", 0.3, "stock phrases"),
)
FEATURE_KEYS = tuple(f.key for f in FEATURES)
_FEATURE_UNITS = tuple((f.key, f.unit) for f in FEATURES)
FAMILIES = tuple(dict.fromkeys(f.family for f in FEATURES))


@dataclass(slots=True)
class AnswerStyle:
    """Raw features of one answer's prose plus what the messages quote."""

    words: int
    """Words of prose, after masking."""
    values: dict[str, float]
    function_counts: list[int]
    stock: tuple[str, ...]


def answer_style(text: str) -> AnswerStyle:
    """Features of one answer. Rates are per 100 words of prose; `function_words` is filled in
    by a `FunctionWords` model fitted on the dataset."""
    prose = mask_content(text)
    low = prose.lower().replace("’", "'")  # before acronyms go: "As an AI" is a stock phrase
    # (The phrases' plain substring tests first: far quicker than the bounded alternation.)
    stock = tuple(dict.fromkeys(_STOCK_RE.findall(low))) if any(map(low.__contains__, STOCK_PHRASES)) else ()
    shouted = 0
    if _CAPS_HINT.search(prose):
        prose, shouted = _drop_acronyms(prose)
    words = letter_words(prose)
    n = len(words)
    per100 = 100.0 / n if n else 0.0
    sentences = sum(1 for s in _SENTENCE_SPLIT.split(prose) if _HAS_LETTER.search(s)) or 1
    function_counts = [0] * len(FUNCTION_WORDS)
    contractions = first = second = third = 0
    counts = Counter(words)
    for word in counts.keys() & _COUNTED:  # the words counted by kind (a set operation in C)
        c = counts[word]
        i = FUNCTION_INDEX.get(word)
        if i is not None:
            function_counts[i] = c
        elif word in FIRST_PERSON:
            first += c
        elif word in SECOND_PERSON:
            second += c
        else:
            third += c
    if "'" in prose or "’" in prose:  # (letter_words makes a curly apostrophe straight)
        for word in [w for w in counts if "'" in w]:
            if word.endswith(CONTRACTION_SUFFIXES) or (word.endswith("'s") and word[:-2] in S_CONTRACTIONS):
                contractions += counts[word]
    joined = "".join(words)
    values = {
        "sentence_words": n / sentences,
        "commas": prose.count(",") * per100,
        "exclamations": prose.count("!") * per100,
        "questions": prose.count("?") * per100,
        "dashes": _dashes(prose) * per100,
        "semicolons": (prose.count(";") + (len(_COLONS.findall(prose)) if ":" in prose else 0)) * per100,
        "shouting": shouted * per100,
        "contractions": contractions * per100,
        "first_person": first * per100,
        "second_person": second * per100,
        "third_person": third * per100,
        "function_words": 0.0,
        "word_letters": (len(joined) - joined.count("'")) / n if n else 0.0,
        "emoji": (0 if prose.isascii() else len(_EMOJI.findall(prose))) * per100,
        "stock_phrases": float(len(stock)),
    }
    return AnswerStyle(n, values, function_counts, stock)


def _dashes(prose: str) -> int:
    """Dashes and ellipses: "—", "–", "…", "--", "..." and a hyphen with space on both sides.
    (Counted one kind at a time: no two kinds can overlap, and `str.count` is far quicker than
    one regex for them all.)"""
    found = prose.count("--") + prose.count("...")
    if not prose.isascii():
        found += prose.count("—") + prose.count("–") + prose.count("…")
    if "-" in prose:
        found += len(_SPACED_HYPHEN.findall(prose))
    return found


def _drop_acronyms(prose: str) -> tuple[str, int]:
    """(prose without its acronyms, shouted words). A run of SHOUT_RUN or more all-caps words
    separated by spaces is a shouted phrase, and so is a lone all-caps word of SHOUT_WORD or
    more letters; any other all-caps word of two or more letters (TCP, HTTP, JSON, APIs) is an
    acronym, and is taken out like any other name."""
    tokens = list(_CAPS_TOKEN.finditer(prose))
    runs: list[list[re.Match[str]]] = []
    for m in tokens:
        if runs and not prose[runs[-1][-1].end() : m.start()].strip(" \t"):
            runs[-1].append(m)
        else:
            runs.append([m])
    shouted = 0
    drop: list[tuple[int, int]] = []
    for run in runs:
        long_run = len(run) >= SHOUT_RUN
        for m in run:
            letters = len(m.group()) - (1 if m.group().endswith("s") else 0)
            if letters < 2:
                continue
            if long_run or letters >= SHOUT_WORD:
                shouted += 1
            else:
                drop.append(m.span())
    if not drop:
        return prose, shouted
    parts, last = [], 0
    for start, end in drop:
        parts.append(prose[last:start])
        last = end
    parts.append(prose[last:])
    return " ".join(parts), shouted


# ---------------------------------------------------------------------------- the sample


@dataclass
class StyleSample:
    """Style features of the distinct answers in the profile's style sample."""

    positions: list[int]
    """Answer positions (into `DatasetProfile.answers()`), the first of each distinct answer."""
    styles: list[AnswerStyle]
    keys: list[str]
    """Each answer's whitespace-normalised text: exact copies share it."""
    copies: list[int]
    """How many answers in the sample share each one's text (1 = no copy)."""


def style_sample(answers: list[tuple[int, str]], positions: list[int]) -> StyleSample:
    """Features of the distinct answers among `positions`: an answer copied verbatim (up to
    whitespace) is measured and judged once."""
    first: dict[str, int] = {}
    out = StyleSample([], [], [], [])
    for pos in positions:
        key = normalize_ws(answers[pos][1])
        at = first.get(key)
        if at is not None:
            out.copies[at] += 1
            continue
        first[key] = len(out.positions)
        out.positions.append(pos)
        out.styles.append(answer_style(answers[pos][1]))
        out.keys.append(key)
        out.copies.append(1)
    return out


# ---------------------------------------------------------------------------- function words


@dataclass
class FunctionWords:
    """Burrows-style delta on the dataset's most frequent function words, made length-aware.

    For each word, an answer of n words is expected to use it at the dataset's rate p, give or
    take the sampling spread p(1-p)/n plus the between-answer spread tau^2 that the dataset
    shows beyond sampling. The delta is the mean |z| over the words, so a short answer is not
    "different" merely because 40 words cannot hit every rate."""

    index: list[int]
    """Positions in FUNCTION_WORDS of the words used."""
    rate: list[float]
    tau2: list[float]

    @classmethod
    def fit(cls, styles: list[AnswerStyle]) -> FunctionWords:
        import numpy as np

        styles = [s for s in styles if s.words]
        total = sum(s.words for s in styles) or 1
        counts = np.array([s.function_counts for s in styles], dtype=np.int64).reshape(len(styles), len(FUNCTION_WORDS))
        words = np.array([s.words for s in styles], dtype=np.float64)
        sums = counts.sum(axis=0).tolist()
        ranked = sorted(range(len(sums)), key=lambda i: -sums[i])[:FUNCTION_TOP]
        index = [i for i in ranked if sums[i] / total >= FUNCTION_MIN_RATE]
        rate = [sums[i] / total for i in index]
        tau2 = []
        m = max(1, len(styles))
        for i, p in zip(index, rate, strict=True):
            off = counts[:, i] / words - p
            spread = _in_order_sum(off * off) / m
            sampling = _in_order_sum(p * (1 - p) / words) / m
            tau2.append(max(spread - sampling, 0.0))
        return cls(index, rate, tau2)

    def z(self, style: AnswerStyle) -> list[float]:
        """Each word's z, capped at FUNCTION_Z_CAP so one word cannot make the delta alone."""
        n = style.words or 1
        return [
            max(
                -FUNCTION_Z_CAP,
                min(FUNCTION_Z_CAP, (style.function_counts[i] / n - p) / math.sqrt(p * (1 - p) / n + t)),
            )
            for i, p, t in zip(self.index, self.rate, self.tau2, strict=True)
        ]

    def delta(self, style: AnswerStyle) -> float:
        z = self.z(style)
        return sum(map(abs, z)) / len(z) if z else 0.0

    def fill(self, styles: list[AnswerStyle]) -> None:
        """Set every style's `function_words` to its `delta` (computed for all at once)."""
        import numpy as np

        if not self.index:
            for s in styles:
                s.values["function_words"] = 0.0
            return
        counts = np.array([[s.function_counts[i] for i in self.index] for s in styles], dtype=np.float64)
        counts = counts.reshape(len(styles), len(self.index))
        n = np.array([s.words or 1 for s in styles], dtype=np.float64)[:, None]
        p, t = np.array(self.rate), np.array(self.tau2)
        z = (counts / n - p) / np.sqrt(p * (1 - p) / n + t)
        np.clip(z, -FUNCTION_Z_CAP, FUNCTION_Z_CAP, out=z)
        # Summed in order, as `delta` sums: the same numbers.
        deltas = np.cumsum(np.abs(z), axis=1)[:, -1] / len(self.index) if len(styles) else ()
        for s, delta in zip(styles, list(deltas), strict=True):
            s.values["function_words"] = float(delta)

    def top_differences(self, style: AnswerStyle, k: int = 3) -> list[str]:
        """The words furthest from their usual rate, with both rates per 100 words."""
        n = style.words or 1
        ranked = sorted(zip(self.z(style), self.index, self.rate, strict=True), key=lambda d: -abs(d[0]))
        return [
            f"'{FUNCTION_WORDS[i]}' {100 * style.function_counts[i] / n:.1f} vs {100 * p:.1f}"
            for z, i, p in ranked[:k]
            if abs(z) >= 2
        ]


def _in_order_sum(values) -> float:
    """The sum of a numpy array added up left to right, as Python's `sum` adds floats (numpy's
    own sum adds pairwise: other roundings)."""
    import numpy as np

    return float(np.cumsum(values)[-1]) if values.size else 0.0


# ---------------------------------------------------------------------------- robust scale


def mad(values: list[float], center: float) -> float:
    return median([abs(v - center) for v in values])


def _decile_spread(values: list[float]) -> float:
    """(q90 - q10) / 2.563: the same as the standard deviation for a bell curve, but wider than
    the MAD when a tenth or more of the answers share a habit (a persona whose advice says "you"
    and whose stories say "she"), so a habit that many answers share is never an outlier."""
    if len(values) < 10:
        return 0.0
    s = sorted(values)
    return (quantile(s, 0.9) - quantile(s, 0.1)) / 2.563


@dataclass
class RobustScale:
    """Median and scale (1.4826 x MAD, floored) of every feature over a reference set."""

    center: dict[str, float]
    scale: dict[str, float]

    @classmethod
    def fit(
        cls, styles: list[AnswerStyle], *, flag_share: bool = True, spread: list[AnswerStyle] | None = None
    ) -> RobustScale:
        """Fit on `styles`. With `flag_share`, yes/no features are centred on their share (so a
        feature a fifth of the answers have is not news); without, on their median (any
        minority feature stands out, which is what a first, outlier-finding pass wants).
        The scale is at least the decile spread of `spread` (default: `styles`)."""
        center, scale = {}, {}
        for feat in FEATURES:
            vals = [s.values[feat.key] for s in styles]
            wide = vals if spread is None else [s.values[feat.key] for s in spread]
            if feat.unit == "flag" and flag_share:
                share = sum(min(v, 2.0) / 2.0 for v in vals) / len(vals) if vals else 0.0
                center[feat.key] = share
                scale[feat.key] = max(math.sqrt(share * (1 - share)), feat.floor)
                continue
            c = median(vals)
            center[feat.key] = c
            scale[feat.key] = max(1.4826 * mad(vals, c), _decile_spread(wide), feat.floor)
        return cls(center, scale)

    def adopt_flags(self, other: RobustScale) -> None:
        """Take the yes/no features' centre and scale from `other`."""
        for feat in FEATURES:
            if feat.unit == "flag":
                self.center[feat.key] = other.center[feat.key]
                self.scale[feat.key] = other.scale[feat.key]

    def z(self, style: AnswerStyle) -> dict[str, float]:
        """Robust z-score of every feature. For rates, also a Poisson z on the raw count, and the
        smaller of the two in size is kept: two dashes in a 30-word answer are not evidence."""
        out = {}
        n = style.words
        values = style.values
        center, scale = self.center, self.scale
        for k, unit in _FEATURE_UNITS:
            value = values[k]
            if unit == "flag":
                # One stock phrase is half the evidence of two: anyone may write "in order to".
                value = min(value, 2.0) / 2.0
            z = (value - center[k]) / scale[k]
            if unit == "rate" and n:
                count = value * n / 100
                expected = center[k] * n / 100
                z_count = (count - expected) / math.sqrt(max(expected, 1.0))
                z = z if abs(z) < abs(z_count) else (z_count if z * z_count > 0 else 0.0)
            out[k] = z
        return out


    def z_rows(self, styles: Sequence[AnswerStyle]):
        """`z` of each of `styles` as one (answers, features) numpy array, columns in FEATURES
        order: the same numbers, computed a column at a time."""
        import numpy as np

        values = np.array([[s.values[k] for k in FEATURE_KEYS] for s in styles], dtype=np.float64)
        values = values.reshape(len(styles), len(FEATURES))
        n = np.array([s.words for s in styles], dtype=np.float64)
        out = np.empty_like(values)
        for col, (k, unit) in enumerate(_FEATURE_UNITS):
            value = values[:, col]
            if unit == "flag":
                value = np.minimum(value, 2.0) / 2.0
            z = (value - self.center[k]) / self.scale[k]
            if unit == "rate":
                count = value * n / 100
                expected = self.center[k] * n / 100
                z_count = (count - expected) / np.sqrt(np.maximum(expected, 1.0))
                kept = np.where(np.abs(z) < np.abs(z_count), z, np.where(z * z_count > 0, z_count, 0.0))
                z = np.where(n > 0, kept, z)
            out[:, col] = z
        return out


_FAMILY_COLUMNS = tuple([i for i, f in enumerate(FEATURES) if f.family == family] for family in FAMILIES)


def family_rows(z):
    """Each family's strongest |z| (`family_scores`' numbers) for every row of a `z_rows`
    array: (answers, families), columns in FAMILIES order."""
    import numpy as np

    strength = np.abs(z)
    return np.stack([strength[:, cols].max(axis=1) for cols in _FAMILY_COLUMNS], axis=1)


def family_scores(z: dict[str, float]) -> list[tuple[float, Feature]]:
    """Each family's strongest feature as (|z|, feature), largest first: one habit, one vote."""
    best: dict[str, tuple[float, Feature]] = {}
    for feat in FEATURES:
        d = abs(z[feat.key])
        if feat.family not in best or d > best[feat.family][0]:
            best[feat.family] = (d, feat)
    return sorted(best.values(), key=lambda d: -d[0])


def describe(feat: Feature, value: float, typical: float, style: AnswerStyle, fw: list[str]) -> str:
    """A feature difference in words, with both numbers."""
    if feat.key == "sentence_words":
        return f"sentences {value:.1f} words vs typical {typical:.1f}"
    if feat.key == "stock_phrases":
        if style.stock:
            return "stock phrases " + ", ".join(f"'{_display(p)}'" for p in style.stock[:3])
        return "no stock phrases (the rest use them)"
    if feat.key == "function_words":
        extra = f": {', '.join(fw)} per 100 words" if fw else ""
        return f"function words unlike the rest (delta {value:.2f} vs typical {typical:.2f}{extra})"
    if feat.key == "word_letters":
        return f"{feat.label} {value:.2f} vs typical {typical:.2f}"
    return f"{feat.label} {_num(value)} per 100 words vs typical {_num(typical)}"


def _display(phrase: str) -> str:
    """A stock phrase as it would be written: 'As an AI', 'I hope this helps'."""
    text = phrase.rstrip(",")
    text = re.sub(r"\bai\b", "AI", text)
    text = re.sub(r"\bi\b", "I", text)
    return text[0].upper() + text[1:]


def _num(x: float) -> str:
    return "0" if abs(x) < 0.05 else f"{x:.1f}"
