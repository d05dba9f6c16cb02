"""style-drift: answers, or a stretch of the file, written in another voice."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.text import percent

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile
    from intone.lint.style import Feature, StyleSample


class StyleDrift(DatasetRule):
    """
    ## What it does
    Compares the voice of every distinct answer with the rest of the dataset. Content is
    masked first: fenced, indented and unfenced code, inline code, commands (`$ ...`, `npm`,
    `curl`, `cd` lines), URLs, e-mail addresses, file paths, identifiers, numbers, acronyms
    (TCP, HTTP, JSON: short all-caps words not in a shouted phrase), lists of names, and list,
    heading and bold markers. The habits measured on the prose that is left are: words per
    sentence; comma, exclamation, question, dash/ellipsis and semicolon/colon rates; shouting
    (all-caps words after acronyms are masked); contractions; first-, second- and third-person
    pronouns; a length-aware Burrows delta over the most frequent function words; letters per
    word; emoji; and stock assistant or corporate phrases ("Certainly", "Please do not
    hesitate"). Each feature is scaled robustly (median and MAD, but never narrower than the
    spread of the middle 80% of answers, so a habit a tenth of the answers share is part of
    the voice). Exact copies (up to whitespace) are judged once and reported once, on the
    first copy's line, with the other copies in `related`. An answer is reported when at
    least `min-features` feature families (the three pronoun rates are one family) deviate by
    `min-z` or more and its three strongest families (each capped at 6) add up to
    `min-score`; answers with fewer than `min-words` words of prose are not judged. Inside a
    stretch found drifting along file order (below), an answer is also reported when it sits
    on the stretch's side in two thirds of the drift's families.

    It also looks for drift along file order: it splits the file into blocks and reports, once
    for the dataset, a contiguous stretch whose mean feature values differ from the rest's in
    at least `min-drift-features` families, by at least 0.6 robust units and with a Welch
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
    - `min-words` (int, default 30): answers with fewer words of prose are too noisy to judge.
    - `min-z` (float, default 3.0): robust z-score at which a feature counts as deviating.
    - `min-features` (int, default 2): deviating feature families needed to report an answer.
    - `min-score` (float, default 9.0): needed sum of the three strongest families' |z| (each capped at 6).
    - `min-answers` (int, default 20): fewest distinct answers of `min-words` words needed to judge.
    - `min-drift-features` (int, default 3): feature families that must differ for a file-order drift.
    """

    code = "IN410"
    name = "style-drift"
    severity = "warning"
    cost = 0.45
    summary = "An answer, or a stretch of the file, is written in another voice"
    fix_hint = "Rewrite this answer in the persona's voice, or drop it."
    options = (
        Option("min-words", 30, "Shorter answers are not judged one by one.", low=0),
        Option("min-z", 3.0, "Robust z-score at which a feature counts as deviating.", low=0),
        Option("min-features", 2, "Deviating feature families needed to report an answer.", low=1),
        Option(
            "min-score", 9.0, "Needed sum of the three strongest families' |z| (each capped at 6).", low=0
        ),
        Option("min-answers", 20, "Fewest distinct long-enough answers needed to judge.", low=2),
        Option("min-drift-features", 3, "Feature families that must differ for a file-order drift.", low=1),
    )
    CAP = 6.0
    DRIFT_EFFECT = 0.6
    """File-order drift: smallest mean difference of a feature, in robust units."""
    DRIFT_T = 5.0
    """File-order drift: smallest Welch t-statistic of that difference."""
    REF_MIN_WORDS = 12
    """Answers of at least this many words of prose define the typical voice."""

    def _score(self, z: dict[str, float]) -> tuple[float, list[tuple[float, Feature]]]:
        """(sum of the three strongest families' capped |z|, the families at or beyond min-z as
        (|z|, their strongest feature), largest first)."""
        from intone.lint.style import family_scores

        ranked = family_scores(z)
        score = sum(min(d, self.CAP) for d, _f in ranked[:3])
        return score, [(d, f) for d, f in ranked if d >= self.opt["min-z"]]

    def _scores(self, z) -> tuple:
        """`_score` of every row of a `RobustScale.z_rows` array at once: (the scores, how many
        families reach min-z), numpy arrays with the same numbers."""
        import numpy as np

        from intone.lint.style import family_rows

        families = family_rows(z)
        top = np.minimum(-np.sort(-families, axis=1)[:, :3], self.CAP)
        score = top[:, 0] + top[:, 1] + top[:, 2]  # (in `_score`'s order: the same sums)
        return score, (families >= self.opt["min-z"]).sum(axis=1)

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        from intone.lint.style import FunctionWords, RobustScale, describe

        sample = profile.styles()
        positions, styles = sample.positions, sample.styles
        min_words, min_answers = self.opt["min-words"], self.opt["min-answers"]
        reference = [s for s in styles if s.words >= self.REF_MIN_WORDS]
        if len(reference) < 2:
            return
        words = FunctionWords.fit(reference)
        words.fill(styles)
        drift, drifted, drift_features = self._file_order_drift(profile, sample)
        judged = [(j, s) for j, s in enumerate(styles) if s.words >= min_words]
        found: list[tuple[int, str]] = []
        if len(judged) >= min_answers and len(reference) >= min_answers:
            # Two passes: fit, set aside answers that already look foreign, refit on the rest, so a
            # drifted quarter of the file does not drag the "typical" voice towards itself.
            first = RobustScale.fit(reference, flag_share=False)
            first_scores = self._scores(first.z_rows(reference))[0].tolist()
            typical = [s for s, score in zip(reference, first_scores, strict=True) if score < 0.6 * self.opt["min-score"]]
            # The centre is the typical voice's; the spread is at least that of every answer
            # outside a drifted stretch: a habit that a tenth of the answers share, wherever
            # they are in the file, is part of the voice (advice says "you", stories "she").
            # Yes/no features keep the share over those answers too: a sign-off that a fifth of
            # the answers use is repeated-closer's business, not a voice change.
            persona = [s for j, s in enumerate(styles) if s.words >= self.REF_MIN_WORDS and j not in drifted]
            persona = persona or reference
            words = FunctionWords.fit(persona)
            words.fill(styles)
            ref = RobustScale.fit(typical if len(typical) >= min_answers else reference, spread=persona)
            ref.adopt_flags(RobustScale.fit(persona))
            scores, deviating = self._scores(ref.z_rows([s for _j, s in judged]))
            for (j, style), row_score, row_devs in zip(judged, scores.tolist(), deviating.tolist(), strict=True):
                if (row_devs < self.opt["min-features"] or row_score < self.opt["min-score"]) and j not in drifted:
                    continue  # (the common case, decided on the arrays; the rest are redone below)
                z = ref.z(style)
                score, devs = self._score(z)
                where = ""
                if len(devs) < self.opt["min-features"] or score < self.opt["min-score"]:
                    if j not in drifted:
                        continue
                    # Inside a stretch that drifts as a whole, an answer that sits on the
                    # stretch's side (past the midpoint of the two medians) in at least two
                    # thirds of the drift's families, and at least two, belongs to it.
                    along: dict[str, tuple[float, Feature]] = {}
                    for f, sign, midpoint in drift_features:
                        if (style.values[f.key] - midpoint) * sign > 0 and abs(z[f.key]) >= along.get(
                            f.family, (0.0,)
                        )[0]:
                            along[f.family] = (abs(z[f.key]), f)
                    families = {f.family for f, _sign, _mid in drift_features}
                    if len(along) < max(2, math.ceil(2 * len(families) / 3)):
                        continue
                    devs = sorted(along.values(), key=lambda d: -d[0])
                    where = "; like the drifted stretch around it"
                fw = words.top_differences(style)
                parts = [describe(f, style.values[f.key], ref.center[f.key], style, fw) for _d, f in devs[:3]]
                found.append(
                    (
                        j,
                        f"voice differs from the rest ({style.words} words of prose): {'; '.join(parts)}{where}",
                    )
                )
        if found:
            lines_of = _copy_lines(profile, {sample.keys[j] for j, _m in found})
            for j, message in sorted(found, key=lambda f: positions[f[0]]):
                lines = lines_of.get(sample.keys[j]) or [profile.answers()[positions[j]][0]]
                copies = f" (and {len(lines) - 1} exact copies)" if len(lines) > 1 else ""
                yield self.diagnostic(ctx.path, lines[0], message + copies, related=lines[1:])
        if drift is not None:
            yield drift

    def _file_order_drift(
        self, profile: DatasetProfile, sample: StyleSample
    ) -> tuple[Diagnostic | None, set[int], list[tuple[Feature, float, float]]]:
        """The strongest stretch along file order in another voice: (diagnostic, its indices
        into the sample, [(feature, direction, midpoint of the medians inside and outside)]),
        or (None, empty set, [])."""
        from intone.lint.style import FEATURES, RobustScale
        from intone.lint.text import median

        answers = profile.answers()
        chosen = [(j, s) for j, s in enumerate(sample.styles) if s.words >= self.REF_MIN_WORDS]
        n = len(chosen)
        if n < 30:
            return None, set(), []
        ref = RobustScale.fit([s for _j, s in chosen])
        import numpy as np

        keys = [f.key for f in FEATURES]
        z = np.clip(ref.z_rows([s for _j, s in chosen]), -self.CAP, self.CAP)
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
                # Families, not features: one habit measured twice is one difference.
                families = {FEATURES[i].family for i in hits}
                if len(families) >= self.opt["min-drift-features"]:
                    strength = sum(
                        max(float(min(t[i], 1e6)) for i in hits if FEATURES[i].family == fam)
                        for fam in families
                    )
                    if best is None or strength > best[0]:
                        found = sorted(
                            ((float(t[i]), FEATURES[i], float(np.sign(effect[i]))) for i in hits),
                            key=lambda f: -f[0],
                        )
                        best = (strength, lo, hi, found)
        if best is None:
            return None, set(), []
        _strength, lo, hi, found = best
        parts, named, features = [], set(), []
        for _t, feat, sign in found:
            inside = [s.values[feat.key] for _j, s in chosen[lo:hi]]
            outside = [s.values[feat.key] for _j, s in chosen[:lo] + chosen[hi:]]
            features.append((feat, sign, (median(inside) + median(outside)) / 2))
            if feat.family in named or len(parts) == 4:
                continue
            named.add(feat.family)
            parts.append(_compare(feat, inside, outside))
        first_line = answers[sample.positions[chosen[lo][0]]][0]
        last_line = answers[sample.positions[chosen[hi - 1][0]]][0]
        share = (hi - lo) / n
        where = "the end" if hi == n else "the start" if lo == 0 else "the middle"
        stretch = {j for j, _s in chosen[lo:hi]}
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
            features,
        )


def _copy_lines(profile: DatasetProfile, keys: set[str]) -> dict[str, list[int]]:
    """Every line holding an answer whose whitespace-normalised text is one of `keys`, in file
    order. Read only when there is something to report."""
    from intone.lint.profile import normalize_ws

    out: dict[str, list[int]] = {}
    for line, text in profile.answers():
        key = normalize_ws(text)
        if key in keys:
            lines = out.setdefault(key, [])
            if not lines or lines[-1] != line:
                lines.append(line)
    return out


def _compare(feat: Feature, inside: list[float], outside: list[float]) -> str:
    from intone.lint.text import median

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
