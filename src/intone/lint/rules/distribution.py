"""Distribution rules: how answer lengths and wording spread across the dataset."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.stats import evenly_spaced
from intone.lint.text import histogram_lines, mean_sd, quantile

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile




class LengthUniformity(DatasetRule):
    """
    ## What it does
    Checks how widely the assistant answers' lengths spread, in words (every answer) and in
    tokens (an evenly spaced sample of at most 2,000 answers). It fires when the coefficient of
    variation (standard deviation / mean) of the word counts is below `min-cv`, or when the
    middle half of the answers is packed tightly around the median (robust CV, the
    interquartile range / 1.349 / median, below `min-robust-cv`) even if a few greetings or
    stories stretch the full range.

    ## Why is this bad?
    A model fine-tuned on answers that are all about the same length learns that length as
    "correct": it pads a greeting to 65 words and cuts a story short. Real conversation needs
    a two-word reply to "hi" and a long one to "tell me a story".

    ## Example
    111 answers, every one 52–76 words (mean 65, sd 4.5, CV 0.07).

    ## Use instead
    Vary lengths on purpose: short answers to small talk, long ones to requests for stories or
    explanations. Naturally varied persona data has a CV well above 0.5.

    ## Options
    - `min-cv` (float, default 0.25): flag when the word-count CV is below this.
    - `min-robust-cv` (float, default 0.15): flag when IQR / 1.349 / median is below this.
    - `min-answers` (int, default 20): don't judge datasets with fewer answers.
    """

    code = "IN400"
    name = "length-uniformity"
    severity = "warning"
    summary = "Answer lengths spread too narrowly"
    fix_hint = (
        "Vary lengths deliberately: short answers to small talk ('hi', 'thanks'), long ones to "
        "'tell me a story' or 'explain'."
    )
    options = (
        Option("min-cv", 0.25, "Flag when the coefficient of variation of answer words is below this.", low=0),
        Option("min-robust-cv", 0.15, "Also flag when IQR/1.349/median of answer words is below this.", low=0),
        Option("min-answers", 20, "Fewest answers needed to judge the spread.", low=2),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        words = profile.answer_word_lengths()
        if len(words) < self.opt["min-answers"]:
            return
        mean, sd = mean_sd(words)
        if mean <= 0:
            return
        cv = sd / mean
        ordered = sorted(words)
        median = quantile(ordered, 0.5)
        q1, q3 = quantile(ordered, 0.25), quantile(ordered, 0.75)
        robust_cv = (q3 - q1) / 1.349 / median if median else 0.0
        narrow_core = robust_cv < self.opt["min-robust-cv"]
        if cv >= self.opt["min-cv"] and not narrow_core:
            return
        deviations = sorted(abs(w - mean) for w in words)
        within90 = quantile(deviations, 0.9)
        _positions, tokens = profile.token_sample(ctx.counter)
        token_part = ""
        if len(tokens) > 1:
            t_mean, t_sd = mean_sd(tokens)
            sample = "" if len(tokens) == len(words) else f" (sample of {len(tokens)})"
            token_part = (
                f"; tokens{sample}: {min(tokens)}–{max(tokens)}, mean {t_mean:.0f}, "
                f"CV {t_sd / t_mean if t_mean else 0:.2f}"
            )
        if cv < self.opt["min-cv"]:
            message = (
                f"{len(words)} answers, {min(words)}–{max(words)} words, mean {mean:.0f}, sd {sd:.1f}, "
                f"CV {cv:.2f} (flag < {self.opt['min-cv']:g}); 90% within ±{math.ceil(within90)} words "
                f"of {mean:.0f}{token_part}"
            )
        else:
            message = (
                f"{len(words)} answers, middle half {q1:.0f}–{q3:.0f} words around a median of "
                f"{median:.0f}: robust CV {robust_cv:.2f} (IQR/1.349/median, flag < "
                f"{self.opt['min-robust-cv']:g}), although the full range {min(words)}–{max(words)} "
                f"gives CV {cv:.2f}{token_part}"
            )
        yield self.diagnostic(ctx.path, None, message, details=histogram_lines(words))


class LengthOutlier(DatasetRule):
    """
    ## What it does
    Reports a single answer whose length is far outside the dataset's distribution, on its
    line. Distance is measured on log word counts, in robust units (median and MAD), and the
    answer must also be at least `min-ratio` times longer (or shorter) than the median.

    ## Why is this bad?
    One 700-word essay among 50-word chats is usually a paste error or a draft, and it teaches
    the model that rambling is sometimes right. A one-word answer among long ones is often a
    truncated reply.

    ## Example
    140 answers of 30–70 words, and line 40 with 650 words.

    ## Use instead
    Check the answer: trim or split it, or add more answers of that length if it is deliberate.

    ## Options
    - `max-z` (float, default 5.0): robust z-score (log words) above which an answer is an outlier.
    - `min-ratio` (float, default 3.0): the answer must also differ from the median length by this factor.
    - `min-answers` (int, default 20): don't judge datasets with fewer answers.
    """

    code = "IN401"
    name = "length-outlier"
    severity = "info"
    summary = "One answer far longer or shorter than the rest"
    fix_hint = "Check this answer: trim or split it, or add more answers of this length if deliberate."
    options = (
        Option("max-z", 5.0, "Robust z-score of log length above which an answer is an outlier.", low=0),
        Option("min-ratio", 3.0, "Also require this factor between the answer and the median length.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        words = profile.answer_word_lengths()
        if len(words) < self.opt["min-answers"]:
            return
        import numpy as np

        logs = np.log1p(np.asarray(words, dtype=np.float64))
        center = float(np.median(logs))
        scale = max(1.4826 * float(np.median(np.abs(logs - center))), 0.1)
        med_words, lo, hi = (float(x) for x in np.quantile(np.asarray(words), (0.5, 0.1, 0.9)))
        # An answer is an outlier when its log length is this far from the centre.
        reach = max(self.opt["max-z"] * scale, math.log(self.opt["min-ratio"]))
        longest = math.exp(center + reach) - 1
        shortest = math.exp(center - reach) - 1
        seen: set[int] = set()
        for ex in profile.examples:
            for n in ex.answer_words:
                if shortest < n < longest or ex.line in seen:
                    continue
                seen.add(ex.line)
                d = math.log(n + 1) - center
                kind = "longer" if d > 0 else "shorter"
                yield self.diagnostic(
                    ctx.path,
                    ex.line,
                    f"answer of {n} words is far {kind} than the rest: median {med_words:.0f}, "
                    f"80% between {lo:.0f} and {hi:.0f} words (robust z {d / scale:+.1f}, flag at "
                    f"±{self.opt['max-z']:g})",
                )


class LowDiversity(DatasetRule):
    """
    ## What it does
    Measures distinct-2, the share of word pairs (bigrams) in the answers that are unique,
    over blocks of 2,000 words (answers in file order; at most 2,000 evenly spaced answers are
    read), and reports when its mean falls below `min-distinct-2`. Measuring in fixed-size
    blocks keeps the number comparable between small and large datasets.

    ## Why is this bad?
    Answers built from a few templates teach the model those templates, not the persona. Free
    human text scores around 0.8–0.9 on this measure.

    ## Example
    120 answers each stitched from three sentence frames with one noun swapped.

    ## Use instead
    Write answers from scratch, vary sentence structure, and drop template fills.

    ## Options
    - `min-distinct-2` (float, default 0.5): flag when mean distinct-2 is below this.
    - `min-words` (int, default 1000): don't judge datasets with fewer answer words.
    """

    code = "IN303"
    name = "low-diversity"
    severity = "info"
    summary = "Answers reuse the same word pairs (low distinct-2)"
    fix_hint = "Write more answers from scratch and vary sentence structure instead of filling templates."
    options = (
        Option("min-distinct-2", 0.5, "Flag when mean distinct-2 over 2,000-word blocks is below this.", low=0, high=1),
        Option("min-words", 1000, "Fewest answer words needed to judge.", low=1),
    )
    BLOCK = 2000
    SAMPLE = 2000

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        from intone.lint.text import words as split_words

        answers = profile.answers()
        stream: list[str] = []
        for i in evenly_spaced(len(answers), self.SAMPLE):
            stream.extend(split_words(answers[i][1]))
        if len(stream) < self.opt["min-words"]:
            return
        ratios = []
        bigram_counts: Counter[tuple[str, str]] = Counter()
        for start in range(0, len(stream) - 1, self.BLOCK):
            block = stream[start : start + self.BLOCK + 1]
            pairs = list(pairwise(block))
            if len(pairs) < self.BLOCK // 2 and ratios:
                break  # a short tail block would overstate diversity
            ratios.append(len(set(pairs)) / len(pairs))
            bigram_counts.update(pairs)
        score = sum(ratios) / len(ratios)
        if score >= self.opt["min-distinct-2"]:
            return
        top = ", ".join(f"'{a} {b}' ×{c}" for (a, b), c in bigram_counts.most_common(4))
        yield self.diagnostic(
            ctx.path,
            None,
            f"distinct-2 {score:.2f} (flag < {self.opt['min-distinct-2']:g}) over {len(ratios)} block(s) "
            f"of {self.BLOCK} words; most repeated pairs: {top}",
        )
