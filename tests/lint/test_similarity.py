"""Shingles, the incremental NearDuplicateIndex and the batch near-duplicate search."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intone.lint.similarity import (
    NearDuplicateIndex,
    jaccard,
    near_duplicate_pairs,
    shingle_hashes,
    shingles,
    words,
)

VOCAB = [
    "tide",
    "lantern",
    "rope",
    "harbour",
    "gull",
    "fog",
    "keeper",
    "knot",
    "anchor",
    "storm",
    "biscuit",
    "sail",
    "wave",
    "shell",
    "pebble",
    "compass",
    "starboard",
    "driftwood",
    "whistle",
    "barnacle",
    "lighthouse",
    "beacon",
    "squall",
    "current",
    "reef",
    "moon",
    "kettle",
    "blanket",
    "story",
    "tickle",
    "sunrise",
    "puddle",
    "cloud",
    "thunder",
    "ribbon",
    "button",
    "pocket",
    "marble",
    "otter",
    "heron",
]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def near_copy(rng: random.Random, text: str, changes: int = 1) -> str:
    ws = text.split()
    for _ in range(changes):
        ws[rng.randrange(len(ws))] = "zebra"
    return " ".join(ws)


def test_words_ignore_case_and_punctuation() -> None:
    assert words("Hello, World! Don't—stop.") == ["hello", "world", "dont", "stop"]


def test_shingles_are_lowercased_word_trigrams() -> None:
    assert shingles("The cat sat, on the MAT") == {"the cat sat", "cat sat on", "sat on the", "on the mat"}
    assert shingles("a b c d", k=2) == {"a b", "b c", "c d"}


def test_short_text_is_one_shingle_and_empty_text_none() -> None:
    assert shingles("Hi there") == {"hi there"}
    assert shingles("Hi!") == {"hi"}
    assert shingles("  ...  ") == set()


def test_jaccard() -> None:
    assert jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(0.5)
    assert jaccard(set(), set()) == 0.0
    assert jaccard({1}, {1}) == 1.0


def test_index_finds_near_copy_with_exact_similarity() -> None:
    rng = random.Random(1)
    base = sentence(rng, 60)
    copy = near_copy(rng, base)
    index = NearDuplicateIndex()
    index.add("base", base)
    for i in range(50):
        index.add(i, sentence(rng, 60))
    hits = index.query(copy)
    assert [k for k, _ in hits] == ["base"]
    assert hits[0][1] == pytest.approx(jaccard(shingles(base), shingles(copy)))
    assert hits[0][1] >= 0.7


def test_index_threshold_sorting_exclude_and_remove() -> None:
    rng = random.Random(2)
    base = sentence(rng, 80)
    close = near_copy(rng, base, 1)
    closer_still = base + " tide"
    index = NearDuplicateIndex(threshold=0.7)
    index.add("a", close)
    index.add("b", closer_still)
    index.add("c", base)
    assert len(index) == 3 and "a" in index and "zzz" not in index
    hits = index.query(base, exclude="c")
    assert [k for k, _ in hits] == ["b", "a"]
    assert hits[0][1] > hits[1][1]
    index.remove("b")
    index.remove("never-added")  # no error
    assert "b" not in index and len(index) == 2
    assert [k for k, _ in index.query(base, exclude="c")] == ["a"]


def test_index_replaces_existing_key_and_ignores_empty_text() -> None:
    rng = random.Random(3)
    a, b = sentence(rng, 40), sentence(rng, 40)
    index = NearDuplicateIndex()
    index.add(1, a)
    index.add(1, b)
    assert len(index) == 1
    assert index.query(a) == []
    assert index.query(b)[0][0] == 1
    index.add(2, "!!!")
    assert len(index) == 2 and index.query("!!!") == []


def test_index_below_threshold_is_not_returned() -> None:
    rng = random.Random(4)
    base = sentence(rng, 30)
    far = near_copy(rng, base, 8)
    index = NearDuplicateIndex(threshold=0.7)
    index.add("base", base)
    sim = jaccard(shingles(base), shingles(far))
    assert sim < 0.7
    assert index.query(far) == []


def test_index_rejects_bad_threshold() -> None:
    with pytest.raises(ValueError):
        NearDuplicateIndex(threshold=0)


def test_shingle_hashes_match_string_shingles() -> None:
    texts = ["The cat sat on the mat", "hi", "", "the cat SAT on the rug!", "a b a b a b"]
    hashes, offsets = shingle_hashes(texts)
    sets = [set(hashes[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(texts))]
    for i in range(len(texts)):
        assert len(sets[i]) == len(shingles(texts[i]))
        for j in range(len(texts)):
            assert jaccard(sets[i], sets[j]) == pytest.approx(jaccard(shingles(texts[i]), shingles(texts[j])))


def test_word_hashes_tell_every_word_apart_at_every_length() -> None:
    """Words are hashed from their first and last 8 bytes and length, or whole past 16 bytes:
    words that differ only in the middle, or only in length, must still get distinct hashes."""
    base = "abcdefghijklmnopqrstuvwxyz" * 2
    vocab = {base[:n] for n in range(1, 41)}  # prefixes of one another
    vocab |= {w[: n // 2] + "z" + w[n // 2 + 1 :] for w in list(vocab) if (n := len(w)) > 2}
    vocab |= {"ça" + base[:n] for n in range(20)} | {"x" * n for n in range(1, 30)}
    words_in_order = sorted(vocab)
    texts = [" ".join(words_in_order), " ".join(reversed(words_in_order))]
    hashes, offsets = shingle_hashes(texts, k=1)  # one word, one shingle
    forward = hashes[offsets[0] : offsets[1]].tolist()
    assert len(set(forward)) == len(words_in_order)  # distinct words, distinct hashes
    assert forward == hashes[offsets[1] : offsets[2]].tolist()[::-1]  # equal words, equal hashes


def test_batch_finds_planted_pairs_and_nothing_else() -> None:
    rng = random.Random(5)
    texts = [sentence(rng, rng.randint(20, 90)) for _ in range(2000)]
    planted = {}
    for src in range(0, 2000, 97):
        dst = src + 40
        if dst < len(texts):
            texts[dst] = near_copy(rng, texts[src], 1)
            planted[dst] = src
    found = near_duplicate_pairs(texts, 0.7)
    # Every reported pair really is at or above the threshold...
    for later, earlier, sim in found:
        assert later > earlier
        assert sim == pytest.approx(jaccard(shingles(texts[later]), shingles(texts[earlier])))
        assert sim >= 0.7
    # ...and every planted copy above the threshold is found.
    got = {(later, earlier) for later, earlier, _ in found}
    for dst, src in planted.items():
        if jaccard(shingles(texts[dst]), shingles(texts[src])) >= 0.7:
            assert (dst, src) in got


def test_text_holding_the_internal_separator_is_safe() -> None:
    texts = ["a b c \x00\x01\x00 d e f", "a b c d e f", "x"]
    hashes, offsets = shingle_hashes(texts)
    assert offsets.size == 4
    assert near_duplicate_pairs(texts) == [(1, 0, 1.0)]


def test_batch_skip_and_tiny_inputs() -> None:
    assert near_duplicate_pairs([]) == []
    assert near_duplicate_pairs(["only one text here"]) == []
    text = "the quick brown fox jumps over the lazy dog again and again"
    assert near_duplicate_pairs([text, text]) == [(1, 0, 1.0)]
    assert near_duplicate_pairs([text, text], skip=[False, True]) == []
    assert near_duplicate_pairs(["", "...", text]) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_batch_agrees_with_brute_force(texts: list[str]) -> None:
    found = {(a, b) for a, b, _ in near_duplicate_pairs(texts, 0.7)}
    sets = [shingles(t) for t in texts]
    truth = {(i, j) for i in range(len(texts)) for j in range(i) if jaccard(sets[i], sets[j]) >= 0.7}
    # LSH may in principle miss a pair, but never reports a false one.
    assert found <= truth


def test_containment_finds_an_answer_pasted_into_a_longer_one() -> None:
    from intone.lint.similarity import near_copy_pairs

    rng = random.Random(11)
    texts = [sentence(rng, rng.randint(30, 60)) for _ in range(400)]  # above BRUTE_FORCE_MAX: the index path
    texts[300] = texts[20] + " " + sentence(rng, 45)  # holds all of 20's text, Jaccard about 0.5
    sets = [shingles(t) for t in texts]
    assert jaccard(sets[300], sets[20]) < 0.7
    by_jaccard = {(a, b) for a, b, *_ in near_copy_pairs(texts, 0.7)}
    assert (300, 20) not in by_jaccard
    found = {(a, b): (j, c) for a, b, j, c in near_copy_pairs(texts, 0.7, 0.8)}
    assert (300, 20) in found
    sim, contained = found[(300, 20)]
    assert contained == pytest.approx(1.0)
    assert sim == pytest.approx(jaccard(sets[300], sets[20]))
    for (a, b), (_j, c) in found.items():  # nothing invented
        small = min(len(sets[a]), len(sets[b]))
        assert c == pytest.approx(len(sets[a] & sets[b]) / small) and c >= 0.8
    # The smaller text must be long enough to count.
    short = [len(t.split()) < 100 for t in texts]
    assert (300, 20) not in {(a, b) for a, b, *_ in near_copy_pairs(texts, 0.7, 0.8, contained_skip=short)}


def test_signatures_densify_as_the_plain_definition_says() -> None:
    """Each bin keeps its smallest low-32-bit value; an empty bin borrows the next filled bin's
    (circularly) plus 0x2545F491 per step; a text without shingles stays all-empty."""
    import numpy as np

    from intone.lint.similarity import _EMPTY, _signatures

    rng = random.Random(7)
    for num_perm in (7, 16, 64):
        counts = [rng.choice([0, 1, 2, 5, 40]) for _ in range(30)]
        offsets = np.array([0, *np.cumsum(counts)], dtype=np.int64)
        hashes = np.array([rng.getrandbits(64) for _ in range(int(offsets[-1]))], dtype=np.uint64)
        got = _signatures(hashes, offsets, num_perm)
        for t, n in enumerate(counts):
            bins: dict[int, int] = {}
            for h in hashes[offsets[t] : offsets[t] + n].tolist():
                b = (h >> 32) % num_perm
                bins[b] = min(bins.get(b, 1 << 32), h & 0xFFFFFFFF)
            if not bins:
                assert (got[t] == _EMPTY).all()
                continue
            for c in range(num_perm):
                step = next(d for d in range(num_perm) if (c + d) % num_perm in bins)
                want = (bins[(c + step) % num_perm] + step * 0x2545F491) & 0xFFFFFFFF
                assert int(got[t, c]) == want, (num_perm, t, c)
