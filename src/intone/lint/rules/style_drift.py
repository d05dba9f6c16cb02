"""style-drift: answers, or a stretch of the file, written in another voice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.text import percent

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile
    from intone.lint.style import AnswerStyle, Feature


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
                f"lines {first_line}–{last_line} ({percent(share)} of judged answers, at {where} of the file) "
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
        return f"{feat.label} in {percent(a)} vs {percent(b)} of answers"
    a, b = median(inside), median(outside)
    if feat.key == "sentence_words":
        return f"sentences {a:.1f} vs {b:.1f} words (median)"
    if feat.unit == "rate":
        return f"{feat.label} {a:.1f} vs {b:.1f} per 100 words (median)"
    return f"{feat.label} {a:.2f} vs {b:.2f} (median)"
