"""Huge answers are read in pieces cut at whitespace: the same words, counts and normal forms
as one call, in calls short enough for the editor to answer ctrl+q meanwhile."""

from __future__ import annotations

import random

import pytest

from intone.lint.profile import normalize_ws
from intone.lint.rules.boilerplate import stock_phrases
from intone.lint.text import pieces_at_spaces, word_count, words

CHARS = ["a", "b", " ", "\n", "\t", "'", ",", "é", "\u00a0", "\u2003", "X", "  ", "—"]


@pytest.mark.parametrize("seed", range(5))
def test_pieces_cut_at_whitespace_keep_every_word(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        text = "".join(rng.choice(CHARS) for _ in range(rng.choice([0, 5, 80, 600])))
        size = rng.choice([1, 2, 7, 40])
        pieces = list(pieces_at_spaces(text, size))
        assert all(len(p) <= size or not any(c.isspace() for c in p[size:]) for p in pieces)
        assert [w for p in pieces for w in words(p)] == words(text)
        assert " ".join(filter(None, (" ".join(p.split()) for p in pieces))) == " ".join(text.split())


def test_huge_text_counts_and_normalises_as_a_small_one() -> None:
    text = "Word, word\t" * 200_000 + "don't\u00a0stop " * 50_000 + "z" * 2_500_000 + "  end  "
    assert len(text) > 5 * (1 << 20)
    assert word_count(text) == len(words(text))
    assert normalize_ws(text) == " ".join(text.split())
    assert stock_phrases("word " * 400_000 + "As an AI language model, I hope this helps!") == [
        "As an AI language model",
        "I hope this helps",
    ]
