"""Interpretable stylometric features of one answer, and robust (median/MAD) comparison.

Every feature is something a person can check by reading the answer: words per sentence,
exclamations per 100 words, contractions, pronoun person, markdown, stock assistant phrases.
No model is involved. `style-drift` and `intone stats` read these through the dataset profile.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Words that carry grammar rather than content; their mix is a classic authorship signal.
FUNCTION_WORDS = [
    "the",
    "a",
    "an",
    "and",
    "but",
    "or",
    "so",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "as",
    "by",
    "from",
    "about",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "it",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "he",
    "she",
    "they",
    "them",
    "his",
    "her",
    "their",
    "not",
    "no",
    "very",
    "just",
    "really",
    "quite",
    "which",
    "who",
    "what",
    "when",
    "if",
    "then",
    "because",
]
_FUNCTION_INDEX = {w: i for i, w in enumerate(FUNCTION_WORDS)}
_FIRST = frozenset(
    [
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "us",
        "our",
        "ours",
        "ourselves",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we're",
        "we've",
    ]
)
_SECOND = frozenset(["you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'd", "you'll"])

# Generic-assistant tells: a persona that starts saying these has lost its voice.
STOCK_PHRASES = (
    "certainly",
    "as an ai",
    "i hope this helps",
    "great question",
    "i'd be happy to",
    "i would be happy to",
    "feel free to",
    "it's important to note",
    "it is important to note",
    "in conclusion",
    "delve",
    "here are some",
    "here's a breakdown",
    "let me know if",
    "additionally",
    "furthermore",
    "overall,",
)
_STOCK_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(p) for p in STOCK_PHRASES) + r")(?![\w'])")
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]’”]*(?=\s|$)|\n\s*\n?")
_LIST_LINE = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+\S", re.MULTILINE)
_MD_OTHER = re.compile(r"^\s*#{1,6}\s|\*\*[^*\n]+\*\*|__[^_\n]+__|`[^`\n]+`", re.MULTILINE)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_CAPS = re.compile(r"(?<![^\W\d_])[^\W\d_a-z]{2,}(?![^\W\d_])")
_ENDS_SENTENCE = re.compile(r"[.!?…]\W*$")
# Cheap pre-check: every stock phrase starts with one of these letters pairs' words.
_STOCK_HINT = re.compile("|".join(sorted({re.escape(p.split()[0]) for p in STOCK_PHRASES})))
_DASHES = re.compile(r"—|–|--|\.\.\.|…")


@dataclass(frozen=True)
class Feature:
    """One stylometric feature: how to name it in a message and its smallest meaningful spread."""

    key: str
    label: str
    unit: str
    """"rate" (per 100 words), "mean", or "flag"."""
    floor: float
    """Lower bound on the robust scale, so near-constant features don't turn tiny wobbles into
    big deviations."""


FEATURES: tuple[Feature, ...] = (
    Feature("sentence_words", "sentences", "mean", 3.0),
    Feature("exclamations", "exclamations", "rate", 1.2),
    Feature("questions", "questions", "rate", 1.2),
    Feature("commas", "commas", "rate", 2.0),
    Feature("dashes", "dashes/ellipses", "rate", 1.0),
    Feature("colons", "colons/semicolons", "rate", 0.8),
    Feature("caps", "CAPS words", "rate", 1.0),
    Feature("contractions", "contractions", "rate", 2.0),
    Feature("first_person", "I/me/my", "rate", 2.0),
    Feature("second_person", "you/your", "rate", 2.0),
    Feature("function_distance", "function-word profile", "mean", 0.06),
    Feature("word_letters", "letters per word", "mean", 0.35),
    Feature("type_token", "type-token ratio", "mean", 0.08),
    Feature("markdown", "markdown", "flag", 0.3),
    Feature("emoji", "emoji", "rate", 1.0),
    Feature("stock_phrases", "stock assistant phrases", "flag", 0.3),
)
FEATURE_KEYS = tuple(f.key for f in FEATURES)
TTR_WINDOW = 50


@dataclass(slots=True)
class AnswerStyle:
    """Raw features of one answer plus what the messages quote."""

    words: int
    values: dict[str, float]
    function_counts: list[int]
    stock: tuple[str, ...]
    list_lines: int
    md_other: int


def answer_style(text: str) -> AnswerStyle:
    """Features of one answer. Rates are per 100 words; `function_distance` is filled later."""
    low = text.lower().replace("’", "'")
    lower = _WORD.findall(low)
    n = len(lower)
    per100 = 100.0 / n if n else 0.0
    counts = Counter(lower)
    sentences = max(1, len(_SENTENCE_END.findall(text.strip())) + (0 if _ENDS_SENTENCE.search(text) else 1))
    function_counts = [0] * len(FUNCTION_WORDS)
    contractions = first = second = 0
    for word, c in counts.items():
        i = _FUNCTION_INDEX.get(word)
        if i is not None:
            function_counts[i] = c
        if "'" in word:
            contractions += c
        if word in _FIRST:
            first += c
        elif word in _SECOND:
            second += c
    caps = len(_CAPS.findall(text))
    window = lower[:TTR_WINDOW]
    stock = tuple(dict.fromkeys(_STOCK_RE.findall(low))) if _STOCK_HINT.search(low) else ()
    list_lines = len(_LIST_LINE.findall(text))
    md_other = len(_MD_OTHER.findall(text))
    values = {
        "sentence_words": n / sentences,
        "exclamations": text.count("!") * per100,
        "questions": text.count("?") * per100,
        "commas": text.count(",") * per100,
        "dashes": len(_DASHES.findall(text)) * per100,
        "colons": (text.count(":") + text.count(";")) * per100,
        "caps": caps * per100,
        "contractions": contractions * per100,
        "first_person": first * per100,
        "second_person": second * per100,
        "function_distance": 0.0,
        "word_letters": (sum(map(len, lower)) / n) if n else 0.0,
        "type_token": (len(set(window)) / len(window)) if window else 0.0,
        "markdown": 1.0 if (list_lines >= 2 or md_other) else 0.0,
        "emoji": len(_EMOJI.findall(text)) * per100,
        "stock_phrases": float(len(stock)),
    }
    return AnswerStyle(n, values, function_counts, stock, list_lines, md_other)


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return 0.0
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def mad(values: list[float], center: float) -> float:
    return median([abs(v - center) for v in values])


def function_profile(styles: list[AnswerStyle]) -> list[float]:
    """Dataset-wide share of each function word among all words."""
    total = sum(s.words for s in styles) or 1
    sums = [0] * len(FUNCTION_WORDS)
    for s in styles:
        for i, c in enumerate(s.function_counts):
            sums[i] += c
    return [c / total for c in sums]


def fill_function_distance(styles: list[AnswerStyle], profile: list[float]) -> None:
    """Distance of each answer's function-word shares from the dataset's: half the L1 norm."""
    for s in styles:
        n = s.words or 1
        s.values["function_distance"] = 0.5 * sum(
            abs(c / n - p) for c, p in zip(s.function_counts, profile, strict=True)
        )


def top_function_differences(style: AnswerStyle, profile: list[float], k: int = 3) -> list[str]:
    n = style.words or 1
    diffs = sorted(
        ((c / n - p, w) for w, c, p in zip(FUNCTION_WORDS, style.function_counts, profile, strict=True)),
        key=lambda d: -abs(d[0]),
    )
    return [f"{'more' if d > 0 else 'less'} '{w}'" for d, w in diffs[:k] if abs(d) > 0.005]


@dataclass
class RobustScale:
    """Median and scale (1.4826 x MAD, floored) of every feature over a reference set."""

    center: dict[str, float]
    scale: dict[str, float]

    @classmethod
    def fit(cls, styles: list[AnswerStyle], *, flag_share: bool = True) -> RobustScale:
        """Fit on `styles`. With `flag_share`, yes/no features are centred on their share (so a
        feature a fifth of the answers have is not news); without, on their median (any
        minority feature stands out, which is what a first, outlier-finding pass wants)."""
        center, scale = {}, {}
        for feat in FEATURES:
            vals = [s.values[feat.key] for s in styles]
            if feat.unit == "flag" and flag_share:
                # A yes/no feature: centre on the share of answers that have it, Bernoulli spread.
                share = sum(1 for v in vals if v) / len(vals) if vals else 0.0
                center[feat.key] = share
                scale[feat.key] = max(math.sqrt(share * (1 - share)), feat.floor)
                continue
            c = median(vals)
            center[feat.key] = c
            scale[feat.key] = max(1.4826 * mad(vals, c), feat.floor)
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
        for feat in FEATURES:
            k = feat.key
            value = style.values[k]
            if feat.key == "markdown":
                value = 1.0 if value else 0.0
            z = (value - self.center[k]) / self.scale[k]
            if feat.unit == "rate" and n:
                count = style.values[k] * n / 100
                expected = self.center[k] * n / 100
                z_count = (count - expected) / math.sqrt(max(expected, 1.0))
                z = z if abs(z) < abs(z_count) else (z_count if z * z_count > 0 else 0.0)
            out[k] = z
        return out


def describe(feat: Feature, value: float, typical: float, style: AnswerStyle, fw: list[str]) -> str:
    """A feature difference in words, with both numbers."""
    if feat.key == "sentence_words":
        return f"sentences {value:.1f} words vs {typical:.1f} typical"
    if feat.key == "markdown":
        kinds = []
        if style.list_lines >= 2:
            kinds.append("markdown list")
        if style.md_other:
            kinds.append("markdown formatting")
        return " and ".join(kinds) if value else "no markdown (the rest use it)"
    if feat.key == "stock_phrases":
        if style.stock:
            return ", ".join(f"'{_display(p)}'" for p in style.stock[:3])
        return "no stock phrases (the rest use them)"
    if feat.key == "function_distance":
        extra = f" ({', '.join(fw)})" if fw else ""
        return f"function words unlike the rest: distance {value:.2f} vs {typical:.2f} typical{extra}"
    if feat.key in ("word_letters", "type_token"):
        return f"{feat.label} {value:.2f} vs {typical:.2f} typical"
    return f"{_num(value)} {feat.label} vs {_num(typical)} per 100 words"


def _display(phrase: str) -> str:
    """A stock phrase as it would be written: 'As an AI', 'I hope this helps'."""
    text = phrase.rstrip(",")
    text = re.sub(r"\bai\b", "AI", text)
    text = re.sub(r"\bi\b", "I", text)
    return text[0].upper() + text[1:]


def _num(x: float) -> str:
    return "0" if abs(x) < 0.05 else f"{x:.1f}"
