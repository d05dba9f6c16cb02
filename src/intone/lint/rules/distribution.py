"""Distribution rules: how answer lengths and wording spread across the dataset."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

from intone.lint.profile import evenly_spaced
from intone.lint.registry import DatasetRule, Option
from intone.lint.text import histogram_lines, mean_sd, quantile

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile




def _spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); 0.0 when either side is constant."""
    import numpy as np

    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v), dtype=float)
        r[order] = np.arange(len(v), dtype=float)
        # Average the ranks of tied values.
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=r)
        return (sums / counts)[inverse]

    rx, ry = ranks(np.asarray(x)), ranks(np.asarray(y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


class LengthUniformity(DatasetRule):
    """
    ## What it does
    Checks how widely the assistant answers' lengths spread, in words (every answer) and in
    tokens (an evenly spaced sample of at most 2,000 answers). It fires when the coefficient of
    variation (standard deviation / mean) of the word counts is below `min-cv`, or when the
    middle half of the answers is packed tightly around the median (robust CV, the
    interquartile range / 1.349 / median, below `min-robust-cv`) even if a few greetings or
    stories stretch the full range.

    When the length follows the task instead, the finding is info and says why: the answer
    lengths rise with the prompt lengths (Spearman rank correlation at least 0.7, over prompts
    whose lengths vary), or at least 80% of the answers have exactly as many sentences as their
    prompt, which is a statement rather than a question (a rewrite or translation task: one
    plain sentence in, one sentence out).

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
    cost = 0.045
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
        task = self.length_follows_task(profile)
        if task is not None:
            yield self.diagnostic(
                ctx.path,
                None,
                f"{message}; but {task}, so the length follows the task (a rewrite or translation?)",
                details=histogram_lines(words),
                severity="info",
                fix="Nothing to do if each answer should be as long as its input; otherwise vary the lengths.",
            )
            return
        yield self.diagnostic(ctx.path, None, message, details=histogram_lines(words))

    def length_follows_task(self, profile: DatasetProfile) -> str | None:
        """Why the answers' lengths are set by their prompts, in words, or None.

        Either the answer lengths rise with the prompt lengths (Spearman rank correlation at
        least TRACK_RHO, over prompts that really vary in length), or most answers restate
        their prompt sentence for sentence: as many sentences as a prompt that is not a
        question (one plain sentence in, one corporate sentence out).
        """
        from intone.lint.text import sentence_count, word_count

        c = profile.columns
        pairs = [
            (words, n[0])
            for words, n, prompt in zip(c.prompt_words, c.answer_words, c.prompt, strict=True)
            if len(n) == 1 and prompt
        ]
        if len(pairs) < self.opt["min-answers"]:
            return None
        import numpy as np

        prompt_words = np.asarray([p for p, _ in pairs], dtype=float)
        answer_words = np.asarray([a for _, a in pairs], dtype=float)
        q1, med, q3 = np.quantile(prompt_words, (0.25, 0.5, 0.75))
        if med > 0 and (q3 - q1) / 1.349 / med >= self.PROMPT_MIN_ROBUST_CV:
            rho = _spearman(prompt_words, answer_words)
            if rho >= self.TRACK_RHO:
                return (
                    f"answer length rises with prompt length (Spearman {rho:.2f} over {len(pairs)} "
                    f"single-answer examples, flag as a task at >= {self.TRACK_RHO:g})"
                )
        answers = profile.answers()
        prompts = profile.answer_prompts()
        positions = evenly_spaced(len(answers), 2000)
        same = judged = 0
        for i in positions:
            prompt = prompts[i]
            if not prompt or word_count(prompt) == 0:
                continue
            judged += 1
            if not prompt.rstrip().endswith("?") and sentence_count(prompt) == sentence_count(answers[i][1]):
                same += 1
        if judged and same / judged >= self.MIRROR_SHARE:
            return (
                f"{same} of {judged} answers have exactly as many sentences as their prompt, which is "
                f"a statement, not a question ({100 * same / judged:.0f}%, task at >= {100 * self.MIRROR_SHARE:.0f}%)"
            )
        return None

    TRACK_RHO = 0.7
    """Spearman correlation of prompt and answer words from which lengths follow the prompts."""
    PROMPT_MIN_ROBUST_CV = 0.15
    """Prompts must vary this much in length (IQR/1.349/median) for the correlation to mean anything."""
    MIRROR_SHARE = 0.8
    """Share of answers restating a non-question prompt sentence for sentence that makes it a task."""


class LengthOutlier(DatasetRule):
    """
    ## What it does
    Reports a single answer whose length is far outside the lengths of answers to similar
    prompts, on its line. Its peers are the answers of examples with the same first tag (one-
    answer examples, when the tag has at least `min-answers` of them), or else the answers to
    prompts of about the same length (bands of prompt length, each holding at least
    `min-answers` and a tenth of the answers), so a 4-word recipe among 5-word recipes is not
    measured against 60-word chat. Exact copies count once. Distance is measured on log word
    counts, in robust units (median and MAD of the peers), and the answer must also be at
    least `min-ratio` times longer (or shorter) than the peers' median.

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
    cost = 0.18
    summary = "One answer far longer or shorter than the rest"
    fix_hint = "Check this answer: trim or split it, or add more answers of this length if deliberate."
    options = (
        Option("max-z", 5.0, "Robust z-score of log length above which an answer is an outlier.", low=0),
        Option("min-ratio", 3.0, "Also require this factor between the answer and the median length.", low=1),
        Option("min-answers", 20, "Fewest answers needed to judge.", low=2),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        import numpy as np

        answers = profile.answers()
        all_words = profile.answer_word_lengths()
        distinct = profile.distinct_answers()
        if len(distinct) < self.opt["min-answers"]:
            return
        seen: set[int] = set()
        lengths = np.asarray(all_words, dtype=np.float64)
        for label, members in self.peer_groups(profile, distinct):
            words = lengths[np.asarray(members, dtype=np.int64)]
            logs = np.log1p(words)
            center = float(np.median(logs))
            scale = max(1.4826 * float(np.median(np.abs(logs - center))), 0.1)
            med_words, lo, hi = (float(x) for x in np.quantile(words, (0.5, 0.1, 0.9)))
            # An answer is an outlier when its log length is this far from its peers' centre.
            reach = max(self.opt["max-z"] * scale, math.log(self.opt["min-ratio"]))
            offsets = logs - center
            for k in np.flatnonzero(np.abs(offsets) >= reach).tolist():
                p, d = members[k], float(offsets[k])
                line = answers[p][0]
                if line in seen:
                    continue
                seen.add(line)
                kind = "longer" if d > 0 else "shorter"
                yield self.diagnostic(
                    ctx.path,
                    line,
                    f"answer of {all_words[p]} words is far {kind} than the {len(members)} answers to {label}: "
                    f"median {med_words:.0f}, 80% between {lo:.0f} and {hi:.0f} words (robust z "
                    f"{d / scale:+.1f}, flag at ±{self.opt['max-z']:g} and x{self.opt['min-ratio']:g})",
                )

    def peer_groups(self, profile: DatasetProfile, positions: list[int]) -> list[tuple[str, list[int]]]:
        """The answers each answer is compared with, as (description, answer positions): those
        sharing its example's first tag when that tag has at least `min-answers` answers, else
        those whose prompts are of about its prompt's length (consecutive bands of prompt
        length holding at least max(`min-answers`, a tenth of the answers) each)."""
        from intone.lint.text import word_count

        owner = profile.answer_example()
        columns = profile.columns
        least = self.opt["min-answers"]
        by_tag: dict[str, list[int]] = {}
        if any(columns.tags) and profile.one_answer_each():  # answer p is example p's, its only one
            tag_column = columns.tags
            for p in positions:
                tags = tag_column[p]
                if tags:
                    by_tag.setdefault(tags[0], []).append(p)
        elif any(columns.tags):
            for p in positions:
                tags = columns.tags[owner[p]]
                # A tag describes a conversation, so only a one-answer example's answer is its tag's.
                if tags and len(columns.answers[owner[p]]) == 1:
                    by_tag.setdefault(tags[0], []).append(p)
        groups = [(f"examples tagged '{tag}'", members) for tag, members in by_tag.items() if len(members) >= least]
        tagged = {p for _label, members in groups for p in members}
        untagged = [p for p in positions if p not in tagged] if tagged else list(positions)
        if profile.one_answer_each():
            # One answer per example (most files): answer p is example p's, its prompt's words known.
            import numpy as np

            at = np.asarray(untagged, dtype=np.int64)
            counts = np.asarray(columns.prompt_words, dtype=np.int64)[at]
            order = np.lexsort((at, counts))  # by prompt words, then position: sorted (words, p) pairs
            sizes, members = counts[order].tolist(), at[order].tolist()
        else:
            prompts: list[str] = []

            def prompt_words(p: int) -> int:
                example = owner[p]
                if len(columns.answers[example]) == 1:
                    return columns.prompt_words[example]
                if not prompts:
                    prompts.extend(profile.answer_prompts())
                return word_count(prompts[p])

            rest = sorted((prompt_words(p), p) for p in untagged)
            sizes, members = [n for n, _p in rest], [p for _n, p in rest]
        # `sizes` ascending, `members` the answers with those prompt lengths.
        n = len(members)
        if not n:
            return groups
        if n < least:  # too few to judge alone: compare them with everything
            return [*groups, ("all the prompts", positions)] if not groups else groups
        band = max(least, n // 10)
        start = 0
        bands: list[tuple[int, int]] = []
        while start < n:
            stop = min(n, start + band)
            while stop < n and sizes[stop] == sizes[stop - 1]:
                stop += 1  # equal prompt lengths stay in one band
            if n - stop < least:
                stop = n  # a short tail joins the last band
            bands.append((start, stop))
            start = stop
        for a, b in bands:
            lo, hi = sizes[a], sizes[b - 1]
            span = f"{lo}" if lo == hi else f"{lo}–{hi}"
            label = "all the prompts" if len(bands) == 1 else f"prompts of {span} words"
            groups.append((label, members[a:b]))
        return groups


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
    cost = 0.05
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
