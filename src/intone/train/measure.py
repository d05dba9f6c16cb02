"""What a reply looks like to a reader, in numbers: did it stop, how long, does it loop.

Shared by `bench/voice_check.py` and the probe. Words are counted as the linter counts them
(`intone.lint.text.word_count`), so a generated length compares with the training band.
"""

from __future__ import annotations

from dataclasses import dataclass

from intone.lint.text import word_count


def repeated_ngram_share(text: str, n: int = 4) -> float:
    """Share of the reply's word n-grams that repeat an earlier one (0: no loop; 0.9: a loop)."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def distinct_ngrams(text: str, n: int = 2) -> float:
    """Distinct word n-grams over all word n-grams (1.0 when nothing repeats)."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


@dataclass(frozen=True)
class ReplyMeasures:
    words: int
    tokens: int
    stopped: bool
    repeated_4gram_share: float
    distinct_2: float


def measure_reply(text: str, tokens: int, stopped: bool) -> ReplyMeasures:
    return ReplyMeasures(word_count(text), tokens, stopped, repeated_ngram_share(text, 4), distinct_ngrams(text, 2))

