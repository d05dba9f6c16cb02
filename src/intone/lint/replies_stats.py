"""Length figures of a set of generated replies against the training answers.

- `band_share`: the share of reply lengths inside the training answers' p10–p90 word band.
- `ks_distance`: the two-sample Kolmogorov–Smirnov statistic (the largest gap between the two
  empirical length distributions; 0 = same distribution, 1 = no overlap at all).
- `pearson` / `spearman`: the correlation of two paired lists (per prompt: the reference
  answer's length and the mean reply length). A model that learned "always about 60 words"
  answers a greeting as long as a story: its lengths do not follow the references, and the
  correlation is flat (near 0). When one side does not vary at all the correlation is 0.0 (no
  relation to see); with fewer than `MIN_PAIRS` pairs it is None.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from intone.lint.text import quantile

MIN_PAIRS = 3


def band(lengths: Sequence[int], low: float = 0.1, high: float = 0.9) -> tuple[float, float] | None:
    """The (p10, p90) of `lengths`, or None when empty."""
    if not lengths:
        return None
    s = sorted(lengths)
    return quantile(s, low), quantile(s, high)


def band_share(lengths: Sequence[int], limits: tuple[float, float] | None) -> float | None:
    if not lengths or limits is None:
        return None
    lo, hi = limits
    return sum(1 for n in lengths if lo <= n <= hi) / len(lengths)


def ks_distance(a: Sequence[float], b: Sequence[float]) -> float | None:
    """sup |F_a(x) - F_b(x)| over x; None when either is empty."""
    if not a or not b:
        return None
    sa, sb = sorted(a), sorted(b)
    gap = 0.0
    for x in sorted(set(sa) | set(sb)):
        fa = bisect.bisect_right(sa, x) / len(sa)
        fb = bisect.bisect_right(sb, x) / len(sb)
        gap = max(gap, abs(fa - fb))
    return gap


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) != len(y):
        raise ValueError("pearson: lists of different lengths")
    n = len(x)
    if n < MIN_PAIRS:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((v - mx) ** 2 for v in x)
    syy = sum((v - my) ** 2 for v in y)
    if sxx == 0 or syy == 0:
        return 0.0
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties given their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < MIN_PAIRS:
        return None
    return pearson(ranks(x), ranks(y))
