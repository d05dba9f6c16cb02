"""Near-duplicate text detection: word shingles, MinHash and LSH, verified by exact Jaccard.

Two entry points share one definition of a shingle (lower-cased word k-grams; punctuation is
not part of a word, so "Hello, world!" and "hello world" have the same shingles):

- `NearDuplicateIndex`: an incremental index (add, remove, query) on datasketch's MinHashLSH,
  for interactive use such as the authoring app.
- `near_duplicate_pairs`: a batch search over many texts at once, used by the `near-duplicate`
  lint rule. It computes one-permutation MinHash signatures with numpy for all texts together
  and buckets LSH bands by sorting, so 100k answers take well under a second. Candidates are
  verified by exact Jaccard, so the LSH step can only miss pairs, never invent them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from functools import lru_cache
from itertools import count

import numpy as np

from intone.lint.text import NUL_KEPT_LOWER_BYTES, WORD_TABLE, eight_bytes, first_bytes, word_spans, words

# The batch path keeps NUL, its separator between texts (texts' own NULs are replaced first).
_BATCH_TABLE = {**WORD_TABLE, 0: 0}


def shingles(text: str, k: int = 3) -> set[str]:
    """Lower-cased word k-grams. A text shorter than k words is one shingle; no words, none."""
    ws = words(text)
    if len(ws) < k:
        return {" ".join(ws)} if ws else set()
    return {" ".join(ws[i : i + k]) for i in range(len(ws) - k + 1)}


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|; 0.0 when both are empty (nothing to compare)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@lru_cache(maxsize=32)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for LSH, tuned well below `threshold` so borderline pairs are found: the
    candidates are verified exactly, so extra candidates cost a little time, never a result.

    Minimises 0.3 x P(false positive) + 0.7 x P(false negative), integrated over similarity
    (datasketch's criterion; computed here because importing datasketch takes a second).
    """
    t = max(0.05, threshold - 0.2)
    steps = 200
    grid = (np.arange(steps) + 0.5) / steps
    below = grid < t
    shapes = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([b for b, _ in shapes], dtype=np.float64)[:, None]
    rows = np.array([r for _, r in shapes], dtype=np.float64)[:, None]
    missed = (1 - grid**rows) ** bands  # P(a pair of similarity x shares no band), per shape
    fp = (1 - missed[:, below]).sum(axis=1) / steps
    fn = missed[:, ~below].sum(axis=1) / steps
    return shapes[int(np.argmin(0.3 * fp + 0.7 * fn))]  # the first of equals, as a loop would


class NearDuplicateIndex:
    """Texts by key; `query` returns keys whose text has word-shingle Jaccard >= threshold.

    Candidates come from MinHash LSH (datasketch) and are verified by the exact Jaccard of the
    shingle sets, so every returned similarity is exact. Texts with no words are stored (they
    count in `len`) but never match anything.
    """

    def __init__(self, threshold: float = 0.7, num_perm: int = 64, k: int = 3) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.num_perm = num_perm
        self.k = k
        self._lsh = MinHashLSH(num_perm=num_perm, params=_lsh_params(threshold, num_perm))
        self._shingles: dict[Hashable, set[str]] = {}
        self._order: dict[Hashable, int] = {}
        self._counter = count()

    def _minhash(self, sh: set[str]):
        from datasketch import MinHash

        mh = MinHash(num_perm=self.num_perm, seed=1)
        mh.update_batch([s.encode("utf-8") for s in sorted(sh)])
        return mh

    def add(self, key: Hashable, text: str) -> None:
        """Index `text` under `key`; an existing key is replaced."""
        if key in self._shingles:
            self.remove(key)
        sh = shingles(text, self.k)
        self._shingles[key] = sh
        self._order[key] = next(self._counter)
        if sh:
            self._lsh.insert(key, self._minhash(sh), check_duplication=False)

    def remove(self, key: Hashable) -> None:
        """Forget `key`; does nothing if it is not indexed."""
        sh = self._shingles.pop(key, None)
        if sh is None:
            return
        del self._order[key]
        if sh:
            self._lsh.remove(key)

    def query(self, text: str, exclude: Hashable | None = None) -> list[tuple[Hashable, float]]:
        """(key, Jaccard) for indexed texts at or above the threshold, most similar first.

        Ties keep the order in which the keys were added. `exclude` leaves one key out (the
        text's own key, when checking an indexed text against the rest).
        """
        sh = shingles(text, self.k)
        if not sh or not self._shingles:
            return []
        found = []
        for key in self._lsh.query(self._minhash(sh)):
            if key == exclude:
                continue
            sim = jaccard(sh, self._shingles[key])
            if sim >= self.threshold:
                found.append((key, sim))
        found.sort(key=lambda kv: (-kv[1], self._order[kv[0]]))
        return found

    def __len__(self) -> int:
        return len(self._shingles)

    def __contains__(self, key: object) -> bool:
        return key in self._shingles


# ---------------------------------------------------------------------------- batch search

CHUNK = 1024
"""Texts tokenized and signed at a time by `near_duplicate_pairs`."""
BRUTE_FORCE_MAX = 200
"""Up to this many texts, `near_duplicate_pairs` compares every pair instead of using LSH."""
_PAD = np.uint64(1 << 33)
_MASK32 = np.uint64(0xFFFFFFFF)
_EMPTY = np.uint64(1 << 40)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the bits of a uint64 array (wrapping arithmetic). A new
    array; `h` is left as it was. (In place on two buffers: a fifth quicker than the plain
    expressions, which allocate an array for each step.)"""
    t = h >> _S30
    t ^= h
    t *= _M1
    h = t >> _S27
    h ^= t
    h *= _M2
    np.right_shift(h, _S31, out=t)
    t ^= h
    return t


_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


_LONG_WORD = 16
_MIXED_LENGTHS = _mix(np.arange(9, dtype=np.uint64))
"""`_mix(length)` for words of 0 to 8 bytes (their last-8-bytes part is 0)."""


def _word_hashes(data: bytes, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word `data[start[i]:end[i]]`, equal for equal words.

    A word of up to 16 bytes is its length, its first 8 bytes and its last 8 (read as
    integers straight from `data`, only once per word, never a pass over every byte); a longer
    one is hashed whole with blake2b (few are: URLs, code)."""
    eight = eight_bytes(data)
    length = end - start
    first = first_bytes(eight, start, length)
    # The inner mix of (last 8 bytes + length): a word of up to 8 bytes has no last part, so
    # its inner value depends on its length alone (a table); only longer words compute it.
    inner = _MIXED_LENGTHS[np.minimum(length, 8)]
    longer = np.flatnonzero(length > 8)
    if longer.size:
        inner[longer] = _mix(eight[end[longer] - 8] + length[longer].astype(np.uint64))
    first ^= inner
    h = _mix(first)
    long_words = np.flatnonzero(length > _LONG_WORD)
    if long_words.size:
        blake2b = hashlib.blake2b
        h[long_words] = [
            int.from_bytes(blake2b(data[a:b], digest_size=8).digest(), "little")
            for a, b in zip(start[long_words].tolist(), end[long_words].tolist(), strict=True)
        ]
    return h


def _batch_bytes(texts: Sequence[str]) -> bytes:
    """The texts lower-cased and joined for `word_spans`, each followed by a NUL."""
    joined = "\x00".join(texts)
    if joined.isascii():  # the same table for bytes, lower-casing too: several times faster
        return joined.encode().translate(NUL_KEPT_LOWER_BYTES, b"'") + b"\x00"
    return joined.lower().translate(_BATCH_TABLE).encode("utf-8", "surrogatepass") + b"\x00"


_MULT = 0x9E3779B97F4A7C15
_SHINGLE_POWERS = [np.uint64(pow(_MULT, j, 1 << 64)) for j in range(9)]
_SHINGLE_CONSTANT = [np.uint64(sum(pow(_MULT, j, 1 << 64) for j in range(k)) % (1 << 64)) for k in range(9)]


def shingle_hashes(texts: Sequence[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every text's shingles, concatenated, and offsets (len(texts) + 1).

    Text i's shingle hashes are `hashes[offsets[i]:offsets[i + 1]]` (possibly repeated, when a
    shingle occurs twice). Equal shingles always get equal hashes: words are hashed from their
    bytes alone (`_word_hashes`), so results do not depend on the process.
    """
    # One pass over all texts at once: C-level lower/translate/encode, then numpy finds the
    # words (runs of bytes above 0x20) and hashes them all together. NUL separates the texts.
    if not texts:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    data = _batch_bytes(texts)
    text_end = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
    if text_end.size != len(texts):  # NUL separates the texts: take theirs out
        data = _batch_bytes([t.replace("\x00", " ") for t in texts])
        text_end = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
    word_start, word_end = word_spans(data)
    # Words per text: how many words start before each text's closing NUL.
    lengths = np.diff(np.searchsorted(word_start, text_end), prepend=0).astype(np.int64)
    flat = _word_hashes(data, word_start, word_end)
    total = flat.size
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths
    per_text = np.where(lengths >= k, lengths - k + 1, np.minimum(lengths, 1))
    offsets = np.concatenate(([0], np.cumsum(per_text))).astype(np.int64)
    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    mult = np.uint64(_MULT)
    one = np.uint64(1)
    # Texts of at least k words: every window of k consecutive words inside the text.
    if total >= k:
        # The polynomial ((0 * m + w0 + 1) * m + w1 + 1) * m + ... + 1, expanded: sum of
        # w_j * m^(k-1-j), plus the constant sum of m^j (wrapping arithmetic, the same values).
        h = _SHINGLE_CONSTANT[k] + flat[k - 1 : total]
        for j in range(k - 1):
            h += flat[j : total - k + 1 + j] * _SHINGLE_POWERS[k - 1 - j]
        # A window is inside its text unless it starts in the text's last k - 1 words (all of
        # a shorter text's words).
        inside = np.ones(total - k + 1, dtype=bool)
        for j in range(1, k):
            at = ends[lengths >= j] - j
            inside[at[at < total - k + 1]] = False
        long_slots = np.ones(hashes.size, dtype=bool)
        short_text = (lengths > 0) & (lengths < k)
        long_slots[offsets[:-1][short_text]] = False
        hashes[long_slots] = _mix(h[inside])
    # Shorter texts: the whole text, padded, is one shingle.
    short = np.flatnonzero((lengths > 0) & (lengths < k))
    if short.size:
        h = np.zeros(short.size, dtype=np.uint64)
        for j in range(k):
            part = np.where(j < lengths[short], flat[np.minimum(starts[short] + j, total - 1)], _PAD)
            h = h * mult + part + one
        hashes[offsets[short]] = _mix(h)
    return hashes, offsets


def _text_of(offsets: np.ndarray) -> np.ndarray:
    """For each shingle slot, the number of its text."""
    return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))


def _signatures(
    hashes: np.ndarray, offsets: np.ndarray, num_perm: int, text_of: np.ndarray | None = None
) -> np.ndarray:
    """One-permutation MinHash with rotation densification: (n_texts, num_perm) uint64.

    Each shingle hash falls into one of `num_perm` bins (high bits) and each bin keeps its
    smallest value (low 32 bits); an empty bin borrows the next non-empty bin's value plus an
    offset per step (Shrivastava & Li, 2014), so two texts agree on a bin with probability
    close to their Jaccard similarity. Rows of texts without shingles stay all-empty.
    """
    n = offsets.size - 1
    sig = np.full(n * num_perm, _EMPTY, dtype=np.uint64)
    if hashes.size:
        text_of = _text_of(offsets) if text_of is None else text_of
        high = hashes >> np.uint64(32)
        if num_perm & (num_perm - 1) == 0:  # a power of two: the modulo is a mask
            bins = (high & np.uint64(num_perm - 1)).astype(np.int64)
        else:
            bins = (high % np.uint64(num_perm)).astype(np.int64)
        np.minimum.at(sig, text_of * num_perm + bins, hashes & _MASK32)
    sig = sig.reshape(n, num_perm)
    filled = sig != _EMPTY
    has_any = filled.any(axis=1)
    # For each bin, the distance to the first filled bin at or after it, circularly: by
    # doubling, each step taking the minimum with the distance `step` bins on, plus `step`.
    dist = (~filled).astype(np.int16)
    dist *= np.int16(num_perm)  # 0 where filled, else num_perm (further than any filled bin)
    step = 1
    while step < num_perm:
        dist = np.minimum(dist, np.concatenate((dist[:, step:], dist[:, :step]), axis=1) + np.int16(step))
        step *= 2
    dist[~has_any] = 0
    cols = np.arange(num_perm, dtype=np.int16) + dist
    if num_perm & (num_perm - 1) == 0:
        cols &= np.int16(num_perm - 1)
    else:
        cols %= np.int16(num_perm)
    at = cols + (np.arange(n, dtype=np.int64) * num_perm)[:, None]
    dense = sig.ravel()[at]
    dense += dist.astype(np.uint64) * np.uint64(0x2545F491)
    dense &= _MASK32
    dense[~has_any] = _EMPTY
    return dense


def near_duplicate_pairs(
    texts: Sequence[str],
    threshold: float = 0.7,
    *,
    num_perm: int = 64,
    k: int = 3,
    skip: Sequence[bool] | None = None,
    max_bucket: int = 50,
) -> list[tuple[int, int, float]]:
    """Pairs (later, earlier, jaccard) of texts whose shingle Jaccard is >= threshold.

    Sub-quadratic: texts meet only when an LSH band of their signatures agrees (up to
    `BRUTE_FORCE_MAX` texts, every pair is compared instead). `skip[i]`
    leaves text i out. Within one band bucket a text is compared with at most `max_bucket`
    earlier texts (guards against pathological buckets). Sorted by (later, earlier).
    """
    found = near_copy_pairs(texts, threshold, None, num_perm=num_perm, k=k, skip=skip, max_bucket=max_bucket)
    return [(later, earlier, sim) for later, earlier, sim, _c in found]


CONTAINMENT_SAMPLE = 4
"""`near_copy_pairs` indexes the shingles whose hash is 0 modulo this (a power of two): a
content-defined sample."""


def near_copy_pairs(
    texts: Sequence[str],
    threshold: float = 0.7,
    min_containment: float | None = None,
    *,
    num_perm: int = 64,
    k: int = 3,
    skip: Sequence[bool] | None = None,
    contained_skip: Sequence[bool] | None = None,
    max_bucket: int = 50,
) -> list[tuple[int, int, float, float]]:
    """Pairs (later, earlier, jaccard, containment) of texts that are near copies: shingle
    Jaccard >= `threshold`, or (when `min_containment` is set) containment
    |A & B| / min(|A|, |B|) >= `min_containment`, the smaller text being one that
    `contained_skip` does not leave out. So a text that holds another's whole text is found
    although their Jaccard is low.

    Jaccard candidates come from MinHash LSH; containment candidates from an inverted index of
    a content-defined sample of shingles (those whose hash is 0 modulo `CONTAINMENT_SAMPLE`:
    a shingle sampled in one text is sampled in every text holding it), so a text meets only
    the texts sharing at least half of its sampled shingles. Both are verified exactly, so the
    search can miss a pair but never invent one. Up to `BRUTE_FORCE_MAX` texts every pair is
    compared. Sorted by (later, earlier).
    """
    if skip is None:
        keep = list(range(len(texts)))
    else:
        keep = np.flatnonzero(~np.asarray(skip, dtype=bool)).tolist()
    if len(keep) < 2:
        return []
    # Chunks of texts bound the temporary word lists and arrays (memory stays flat); each
    # chunk's shingle hashes are kept for the exact verification, with the chunk's sampled
    # (shingle, text) keys for the containment index. Signatures are stored as uint32 (values
    # are 32-bit) in one preallocated array, laid out for the LSH bands: `sig[band]` holds each
    # text's bins of that band side by side. (Interleaved columns make the bands: densified
    # neighbours often copy one bin, so a band of adjacent columns would carry little more
    # information than a single column.)
    bands, rows = _lsh_params(threshold, num_perm)
    band_bins = np.array([band + c * bands for band in range(bands) for c in range(rows)], dtype=np.intp)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    sampled: list[np.ndarray] = []
    sig = np.empty((bands, len(keep), rows), dtype=np.uint32)
    for start in range(0, len(keep), CHUNK):
        h, o = shingle_hashes([texts[i] for i in keep[start : start + CHUNK]], k)
        chunks.append((h, o))
        text_of = _text_of(o)
        dense = _signatures(h, o, num_perm, text_of)[:, band_bins]
        sig[:, start : start + o.size - 1] = (dense & _MASK32).reshape(o.size - 1, bands, rows).transpose(1, 0, 2)
        if min_containment is not None:
            sampled.append(_sampled_keys(h, text_of, start))
    sizes = np.concatenate([np.diff(o) for _h, o in chunks])
    idx = np.flatnonzero(sizes > 0)  # positions in `keep`
    if idx.size < 2:
        return []
    candidates: set[tuple[int, int]] = set()
    brute = idx.size <= BRUTE_FORCE_MAX
    if brute:
        # Few texts: comparing every pair exactly is cheap and can miss nothing.
        members = idx.tolist()
        candidates = {(b, a) for i, a in enumerate(members) for b in members[i + 1 :]}
    # Each band's key with the text's position in its low bits: one plain sort groups equal
    # keys, positions ascending. (Keys that differ only in those bits share a bucket: extra
    # candidates, verified below.)
    bits = max(1, int(idx.size - 1).bit_length())
    position = np.arange(idx.size, dtype=np.uint64)
    high = ~np.uint64((1 << bits) - 1)
    every_text = idx.size == len(keep)
    for band in range(0 if brute else bands):
        # The key of the band's bins b0, b1, ...: key = mix(key * P + b), from key 0.
        block = sig[band] if every_text else sig[band][idx]
        key = _mix(block[:, 0].astype(np.uint64))
        for c in range(1, rows):
            key *= np.uint64(0x100000001B3)
            key += block[:, c]
            key = _mix(key)
        ordered = np.sort((key & high) | position)
        same = (ordered[1:] & high) == (ordered[:-1] & high)
        if not same.any():
            continue
        # Runs of equal keys: [start, end) of each run of two or more.
        change = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)))
        texts_in_order = idx[(ordered & ~high).astype(np.int64)]
        for s, e in zip(change[0::2].tolist(), (change[1::2] + 1).tolist(), strict=True):
            members = texts_in_order[s:e].tolist()  # ascending text order
            for m in range(1, len(members)):
                later = members[m]
                for earlier in members[max(0, m - max_bucket) : m]:
                    candidates.add((later, earlier))
    queries = None
    if min_containment is not None:
        queries = np.ones(len(keep), dtype=bool)
        if contained_skip is not None:
            queries = ~np.asarray(contained_skip, dtype=bool)[np.asarray(keep, dtype=np.int64)]
        if not brute:
            candidates |= _containment_candidates(np.concatenate(sampled), len(keep), queries, max_bucket)
    sets: dict[int, set[int]] = {}

    def shingle_set(i: int) -> set[int]:
        got = sets.get(i)
        if got is None:
            chunk, at = divmod(i, CHUNK)
            h, o = chunks[chunk]
            got = sets[i] = set(h[o[at] : o[at + 1]].tolist())
        return got

    found = []
    for later, earlier in sorted(candidates):  # positions in `keep`
        a, b = shingle_set(later), shingle_set(earlier)
        inter = len(a & b)
        if not inter:
            continue
        sim = inter / (len(a) + len(b) - inter)
        small = later if len(a) <= len(b) else earlier
        contained = inter / min(len(a), len(b))
        by_containment = (
            queries is not None and contained >= min_containment and bool(queries[small])  # type: ignore[operator]
        )
        if sim >= threshold or by_containment:
            found.append((keep[later], keep[earlier], sim, contained))
    return found


_TEXT_BITS = 24
_TEXT_MASK = np.uint64((1 << _TEXT_BITS) - 1)


def _sampled_keys(hashes: np.ndarray, text_of: np.ndarray, first_text: int) -> np.ndarray:
    """One key per sampled shingle of these texts (numbered from `first_text`; `text_of` gives
    each shingle's text): the shingle hash's top 40 bits, then the text's number. A rare clash
    of 40-bit hashes only adds a containment candidate, which is verified exactly."""
    at = np.flatnonzero((hashes & np.uint64(CONTAINMENT_SAMPLE - 1)) == 0)
    text = text_of[at] + first_text
    return (hashes[at] & ~_TEXT_MASK) | text.astype(np.uint64)


def _containment_candidates(
    keys: np.ndarray, n: int, queries: np.ndarray, max_bucket: int
) -> set[tuple[int, int]]:
    """(later, earlier) pairs of the `n` texts in which the smaller text, one of `queries`,
    shares at least half of its sampled shingles (`keys`, from `_sampled_keys`) with the
    other. A shingle held by more than `max_bucket` texts is not used (boilerplate; such texts
    are low-diversity's business)."""
    if n >= 1 << _TEXT_BITS:
        raise ValueError("too many texts for the containment index")
    low = _TEXT_MASK
    keys = np.sort(keys)
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # each (shingle, text) once
    if keys.size < 2:
        return set()
    h, t = keys >> np.uint64(_TEXT_BITS), (keys & low).astype(np.int64)
    sampled = np.bincount(t, minlength=n)
    run_start = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    run_len = np.diff(np.concatenate((run_start, [h.size])))
    pair_keys = []
    for size in np.unique(run_len[(run_len >= 2) & (run_len <= max_bucket)]).tolist():
        starts = run_start[run_len == size]
        members = t[starts[:, None] + np.arange(size)]  # texts ascending within a run
        first, second = np.triu_indices(size, 1)
        pair_keys.append((members[:, second] * n + members[:, first]).ravel())
    if not pair_keys:
        return set()
    pairs = np.sort(np.concatenate(pair_keys))  # (np.unique hashes since numpy 2.3; sorting is faster here)
    first_of_run = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
    keys, shared = pairs[first_of_run], np.diff(np.concatenate((first_of_run, [pairs.size])))
    later, earlier = keys // n, keys % n
    small = np.where(sampled[later] <= sampled[earlier], later, earlier)
    ok = queries[small] & (2 * shared >= sampled[small])
    return set(zip(later[ok].tolist(), earlier[ok].tolist(), strict=True))
