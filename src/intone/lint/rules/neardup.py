"""near-duplicate: answers that are near copies of each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile


class NearDuplicate(DatasetRule):
    """
    ## What it does
    Finds answers that are near copies of an earlier answer: the Jaccard similarity of their
    word 3-gram sets (lower-cased, punctuation ignored) is at least `threshold`. Candidates come
    from MinHash signatures and locality-sensitive hashing, so the work grows about linearly
    with the dataset; every reported similarity is exact. One diagnostic per later example,
    with the earlier line(s) as `related`. Exact duplicate examples are left to
    `duplicate-example`.

    ## Why is this bad?
    A lightly edited copy weighs double in training, like an exact duplicate, and it usually
    means an answer was pasted and half-rewritten. If one copy is in the eval split, the eval
    loss is flattered.

    ## Example
    Line 133's answer is line 40's with two words changed (Jaccard 0.86).

    ## Use instead
    Rewrite one of them into a genuinely different answer, or delete it.

    ## Options
    - `threshold` (float, default 0.7): Jaccard similarity of word 3-grams at which answers are near copies.
    - `min-words` (int, default 8): shorter answers are skipped (short replies resemble each other naturally).
    """

    code = "IN302"
    name = "near-duplicate"
    severity = "warning"
    summary = "Answer nearly copies an earlier answer"
    fix_hint = "Rewrite one of the two into a genuinely different answer, or delete it."
    options = (
        Option("threshold", 0.7, "Jaccard similarity of word 3-grams at which answers are near copies.", low=0, high=1),
        Option("min-words", 8, "Skip answers shorter than this.", low=0),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        threshold = self.opt["threshold"]
        pairs = profile.near_duplicates(threshold, self.opt["min-words"])
        if not pairs:
            return
        owner = profile.answer_example()
        examples = profile.examples
        by_line: dict[int, list[tuple[float, int]]] = {}
        for later, earlier, sim in pairs:
            a, b = examples[owner[later]], examples[owner[earlier]]
            if a.line == b.line or a.example_key == b.example_key:
                continue  # the same example, or an exact duplicate (duplicate-example's job)
            by_line.setdefault(a.line, []).append((sim, b.line))
        for line, matches in sorted(by_line.items()):
            matches.sort(key=lambda m: (-m[0], m[1]))
            sim, first = matches[0]
            related = sorted({m[1] for m in matches})
            others = f" (and {len(related) - 1} more)" if len(related) > 1 else ""
            yield self.diagnostic(
                ctx.path,
                line,
                f"answer nearly copies line {first}{others}: Jaccard {sim:.2f} of word 3-grams "
                f"(flag >= {threshold:g})",
                related=related,
            )
