"""The one definition of words, edge words, quantiles and histograms, used by every rule, by
`intone stats`, by the editor and by the trainer's reply measures.

A word is a run of characters between whitespace and punctuation, lower-cased, with apostrophes
dropped ("Don't!" is the word "dont"). So "Hello, world!" and "hello world" have the same words,
and a reply's word count in `intone sample` is the count the length rules use. (Stylometric
features in `style.py` tokenize for themselves: contractions are one of them.)
"""

from __future__ import annotations

import math
import operator
import re
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import repeat

import numpy as np

# Punctuation separates words; apostrophes are dropped so "don't" and "dont" agree.
_PUNCT = (
    "".join(c for c in string.punctuation if c not in "'_") + "\u2013\u2014\u2026\u201c\u201d\u00ab\u00bb"
)
# Every other whitespace and control character becomes a plain space, so after translation
# "a word" is exactly a run of characters above 0x20 (what a batch scan can rely on).
_SPACES = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\x85"
    + "".join(map(chr, range(32)))
)
WORD_TABLE = str.maketrans({**{c: " " for c in _PUNCT + _SPACES}, "'": None, "\u2019": None, "\u2018": None})
# The same table for ASCII text as bytes: `bytes.translate` is several times faster than a str
# translate through a dict, and most answers are ASCII (`str.isascii` is free).
_ASCII_SEPARATORS = {ord(c) for c in _PUNCT + _SPACES if ord(c) < 128}
BYTES_TABLE = bytes(0x20 if i in _ASCII_SEPARATORS else i for i in range(256))


def words(text: str) -> list[str]:
    """Lower-cased words of `text`: punctuation and whitespace split words, apostrophes are dropped."""
    return text.lower().translate(WORD_TABLE).split()


HUGE_TEXT = 1 << 20
"""Texts longer than this are read in pieces of about this size by the one-call string work
(splitting, translating): one call on a 50 MB answer holds the interpreter for up to a second,
so the editor, whose background lint reads such an answer, could not answer ctrl+q meanwhile."""
_SPACE = re.compile(r"\s")


def pieces_at_spaces(text: str, size: int = HUGE_TEXT) -> Iterator[str]:
    """`text` in consecutive pieces of about `size` characters, each cut at a whitespace
    character (dropped): nothing that whitespace separates spans two pieces. One piece when
    `text` is no longer than `size`."""
    start, n = 0, len(text)
    while start < n:
        found = _SPACE.search(text, start + size) if start + size < n else None
        end = found.start() if found else n
        yield text[start:end]
        start = end + 1 if found else n


def word_count(text: str) -> int:
    """Words in `text`, as every length figure counts them (`len(words(text))`, faster)."""
    if len(text) > HUGE_TEXT:
        return sum(map(_word_count, pieces_at_spaces(text)))
    return _word_count(text)


def _word_count(text: str) -> int:
    if text.isascii():
        return len(text.encode().translate(BYTES_TABLE, b"'").split())
    return len(text.translate(WORD_TABLE).split())


_LETTER_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_ASCII_LETTER_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def letter_words(prose: str) -> list[str]:
    """Lower-cased runs of letters, keeping the apostrophes inside them ("don't", "o'clock").

    For the voice features of masked prose (`intone.lint.style`), where a contraction is itself
    a feature: digits and underscores are not letters, curly apostrophes become straight ones.
    On prose this splits as `words` does, except that `words` drops the apostrophes."""
    if prose.isascii():  # lower-casing first changes no ASCII letter into a non-letter
        return _ASCII_LETTER_WORD.findall(prose.lower())
    return [w.lower().replace("’", "'") for w in _LETTER_WORD.findall(prose)]


def quick_words(lowered: str) -> list[str] | list[bytes]:
    """The words of already lower-cased text, for a quick "does it hold any of these words" test
    (`anchors(...).isdisjoint(quick_words(text))`): `bytes` words for ASCII text, else `str`."""
    if lowered.isascii():
        return lowered.encode().translate(BYTES_TABLE, b"'").split()
    return lowered.translate(WORD_TABLE).split()


def anchors(*texts: str) -> frozenset[str | bytes]:
    """Words to test against `quick_words`, in both its forms."""
    found = [w for text in texts for w in text.split()]
    return frozenset([*found, *(w.encode() for w in found)])


NUL_KEPT_LOWER_BYTES = bytes(
    0 if i == 0 else ord(chr(BYTES_TABLE[i]).lower()) if BYTES_TABLE[i] < 128 else BYTES_TABLE[i] for i in range(256)
)
"""`BYTES_TABLE` that keeps NUL and lower-cases A-Z."""
_NUL_KEPT_WORDS = {**WORD_TABLE, 0: 0, 0x2BC: None}
_LOW_BYTES = np.array([(1 << (8 * j)) - 1 for j in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_WORD_BITS = 20


def word_spans(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the words of translated text (`WORD_TABLE` or `BYTES_TABLE`, so a word
    is a run of bytes above 0x20), found by numpy in one pass."""
    arr = np.frombuffer(data, dtype=np.uint8)
    is_word = np.zeros(arr.size + 2, dtype=bool)  # padded with a non-word byte at each end
    np.greater(arr, 32, out=is_word[1:-1])
    edges = np.flatnonzero(is_word[1:] != is_word[:-1])  # alternately a word's start and end
    return edges[0::2], edges[1::2]


def eight_bytes(data: bytes) -> np.ndarray:
    """The 8 bytes from each offset of `data` as little-endian integers (zero-padded at the end):
    a view, nothing copied but the padding."""
    return np.ndarray((len(data) + 1,), dtype="<u8", buffer=data + bytes(8), strides=(1,))


def first_bytes(eight: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Each word's first (up to) 8 bytes as an integer, the bytes after a shorter word zeroed."""
    return eight[start] & _LOW_BYTES[np.minimum(length, 8)]


def _word_slots(data: bytes, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A `_WORD_BITS`-bit hash of each word `data[start[i]:end[i]]` (its length and first 8
    bytes), equal for equal words."""
    length = end - start
    first = first_bytes(eight_bytes(data), start, length)
    mixed = (first ^ (length.astype(np.uint64) << np.uint64(56))) * np.uint64(0x9E3779B97F4A7C15)
    return (mixed >> np.uint64(64 - _WORD_BITS)).astype(np.intp)


def _word_slots_of(words: Iterable[str | bytes]) -> np.ndarray:
    """`_word_slots` of each of these (lower-cased) words."""
    as_bytes = [w if isinstance(w, bytes) else w.encode() for w in words]
    data = b" ".join(as_bytes)
    lengths = np.array([len(w) for w in as_bytes], dtype=np.int64)
    ends = np.cumsum(lengths + 1) - 1
    return _word_slots(data, ends - lengths, ends)


@lru_cache(maxsize=16)
def _pair_slots(first: str, second: str) -> tuple[int, int]:
    a, b = _word_slots_of([first, second]).tolist()
    return a, b


@lru_cache(maxsize=16)
def _word_set_table(wanted: frozenset) -> np.ndarray:
    table = np.zeros(1 << _WORD_BITS, dtype=bool)
    table[_word_slots_of(sorted({w if isinstance(w, bytes) else w.encode() for w in wanted}))] = True
    return table


def texts_with_words(texts: Sequence[str], wanted: frozenset, pairs: Sequence[tuple[str, str]] = ()) -> set[int]:
    """Indexes of the `texts` that may hold one of the words `wanted` (as `quick_words` splits
    the lower-cased text, U+02BC read as an apostrophe too) or one of the `pairs` of words one
    right after the other ("a.i." is the words "a" and "i").

    Every text that does is found; very rarely one that does not (words are compared by a
    20-bit hash), so a caller checks each text found exactly. One numpy pass over all the texts
    together: for a block of records, far cheaper than splitting each text into words."""
    if not texts:
        return set()
    joined = "\x00".join(texts)
    found: set[int] = set()
    if "\x00" in joined and any(map(operator.contains, texts, repeat("\x00"))):
        # NUL separates the texts: take theirs out
        found = {i for i, t in enumerate(texts) if "\x00" in t}
        joined = "\x00".join([t.replace("\x00", " ") for t in texts])
    if joined.isascii():  # lower-cased by the same table
        data = joined.encode().translate(NUL_KEPT_LOWER_BYTES, b"'")
    else:
        joined = joined.lower()
        data = joined.translate(_NUL_KEPT_WORDS).encode("utf-8", "surrogatepass")
    start, end = word_spans(data)
    slots = _word_slots(data, start, end)
    hit = _word_set_table(wanted)[slots]
    text_end = None
    for first, second in pairs:
        a, b = _pair_slots(first, second)
        at = np.flatnonzero((slots[:-1] == a) & (slots[1:] == b))
        if at.size:
            text_end = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
            one_text = np.searchsorted(text_end, start[at]) == np.searchsorted(text_end, start[at + 1])
            hit[at[one_text]] = True
    if hit.any():
        if text_end is None:
            text_end = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        found.update(np.searchsorted(text_end, start[hit]).tolist())
    return found


def edge_words(text: str, n: int = 3) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The first and the last (up to) `n` words."""
    ws = words(text)
    return tuple(ws[:n]), tuple(ws[-n:])


def phrase_key(text: str) -> str:
    """A text as a space-padded run of its words, so `phrase_key(p) in phrase_key(t)` asks
    whether phrase p occurs in t on word boundaries, case and punctuation ignored."""
    return " " + " ".join(words(text)) + " "


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0.0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation (numpy's default); 0.0 when empty."""
    if not len(sorted_values):
        return 0.0
    return float(np.quantile(np.asarray(sorted_values, dtype=float), q))


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count); 0.0 when empty."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        return 0.0
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def quantile_of_counts(counts: Mapping[int, int], q: float) -> float:
    """`quantile` of a multiset given as value -> count (the editor's live length figures), with
    the same linear interpolation, without expanding it into a list; 0.0 when empty."""
    total = sum(n for n in counts.values() if n > 0)
    if not total:
        return 0.0
    rank = q * (total - 1)
    below, above = math.floor(rank), math.ceil(rank)
    low = high = None
    seen = 0
    for value in sorted(v for v, n in counts.items() if n > 0):
        seen += counts[value]
        if low is None and seen > below:
            low = value
        if seen > above:
            high = value
            break
    assert low is not None and high is not None
    return low + (high - low) * (rank - below)


def histogram(values: Sequence[int], bins: int = 12) -> list[dict[str, int]]:
    """Equal-width integer bins: [{"lo", "hi", "count"}], hi inclusive; [] when empty."""
    if not len(values):
        return []
    lo, hi = min(values), max(values)
    step = max(1, math.ceil((hi - lo + 1) / bins))
    counts = Counter((v - lo) // step for v in values)
    return [
        {"lo": lo + b * step, "hi": lo + (b + 1) * step - 1, "count": counts.get(b, 0)}
        for b in range(math.ceil((hi - lo + 1) / step))
    ]


def histogram_lines(values: Sequence[int], bins: int = 8, width: int = 30, unit: str = "words") -> list[str]:
    """`histogram` drawn as text: one line per bin, `lo–hi words │████ count`."""
    found = histogram(values, bins)
    if not found:
        return []
    if len(found) == 1 and found[0]["lo"] == found[0]["hi"]:
        return [f"{found[0]['lo']:>4} {unit} │{'█' * width} {found[0]['count']}"]
    top = max(b["count"] for b in found)
    return [
        f"{b['lo']:>4}–{b['hi']:<4} {unit} │{'█' * max(1 if b['count'] else 0, round(width * b['count'] / top))} "
        f"{b['count']}"
        for b in found
    ]


def line_list(lines: Sequence[int], limit: int = 8) -> str:
    """Line numbers for a message: "3, 9, 12, …" (at most `limit`)."""
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (", …" if len(lines) > limit else "")


def percent(x: float | None, missing: str = "-") -> str:
    """A share as a whole percentage: 0.153 -> "15%"; `missing` for None (no figure)."""
    return missing if x is None else f"{100 * x:.0f}%"


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")


def sentence_count(text: str) -> int:
    """Sentences in `text`: pieces ended by . ! or ? before whitespace, or by a line break,
    that hold at least one word (so a trailing "###" or a bare list marker is not one)."""
    return sum(1 for piece in _SENTENCE_END.split(text) if words(piece))
