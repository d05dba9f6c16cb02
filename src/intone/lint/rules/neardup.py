"""near-duplicate: answers that are near copies of each other, one finding per cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule, Option
from intone.lint.text import line_list

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile


class NearDuplicate(DatasetRule):
    """
    ## What it does
    Finds answers that are near copies of each other, among the distinct answers (an answer
    that is an exact copy of an earlier one, whitespace aside, is judged once, as its first
    occurrence). Two answers are near copies when the Jaccard similarity of their word 3-gram
    sets (lower-cased, punctuation ignored) is at least `threshold`, or when one holds at least
    `min-containment` of the other's 3-grams (the smaller answer having at least
    `containment-min-words` words): an answer that pastes another's whole text and adds to it.
    Candidates come from MinHash signatures, locality-sensitive hashing and a sampled 3-gram
    index, so the work grows about linearly with the dataset; every reported figure is exact.

    Connected near copies are one finding, on the first line of the group, with the other
    lines (and the lines holding exact copies of them) as `related`. Exact copies themselves
    are left to `duplicate-example`.

    ## Why is this bad?
    A lightly edited copy weighs double in training, like an exact duplicate, and it usually
    means an answer was pasted and half-rewritten. If one copy is in the eval split, the eval
    loss is flattered.

    ## Example
    Line 133's answer is line 40's with two words changed (Jaccard 0.86); line 90's answer is
    line 12's followed by a new paragraph (it holds 100% of line 12's 3-grams, Jaccard 0.57).

    ## Use instead
    Rewrite one of them into a genuinely different answer, or delete it.

    ## Options
    - `threshold` (float, default 0.7): Jaccard similarity of word 3-grams at which answers are near copies.
    - `min-words` (int, default 8): shorter answers are skipped (short replies resemble each other naturally).
    - `min-containment` (float, default 0.8): share of the smaller answer's 3-grams found in the
      larger one at which it counts as copied into it (1 asks for the whole of it).
    - `containment-min-words` (int, default 30): the smaller answer must have at least this many
      words for containment to count (a short sentence inside a long answer is a quote, not a copy).
    """

    code = "IN302"
    name = "near-duplicate"
    severity = "warning"
    cost = 0.9
    summary = "Answers that nearly copy each other"
    fix_hint = "Rewrite all but one into genuinely different answers, or delete them."
    options = (
        Option("threshold", 0.7, "Jaccard similarity of word 3-grams at which answers are near copies.", low=0, high=1),
        Option("min-words", 8, "Skip answers shorter than this.", low=0),
        Option(
            "min-containment",
            0.8,
            "Share of the smaller answer's 3-grams inside the larger one at which it is copied into it.",
            low=0.01,
            high=1,
        ),
        Option("containment-min-words", 30, "Smallest answer (in words) judged by containment.", low=1),
    )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        threshold = self.opt["threshold"]
        pairs = profile.near_copies(
            threshold,
            self.opt["min-words"],
            self.opt["min-containment"],
            max(self.opt["containment-min-words"], self.opt["min-words"]),
        )
        answers = profile.answers()
        owner = profile.answer_example()
        original = profile.answer_original()
        # An exact copy of an answer under another prompt (not a duplicated record, which
        # duplicate-example reports) is the closest copy there is: Jaccard 1.0.
        keys = profile.columns.example_key
        word_counts = profile.answer_word_lengths()
        import numpy as np

        copied = np.flatnonzero(np.asarray(original, dtype=np.int64) != np.arange(len(original))).tolist()
        pairs = list(pairs) + [
            (i, original[i], 1.0, 1.0)
            for i in copied
            if keys[owner[i]] != keys[owner[original[i]]] and word_counts[i] >= self.opt["min-words"]
        ]
        if not pairs:
            return
        # Union-find over answer positions (originals only): connected near copies are one group.
        parent: dict[int, int] = {}

        def root(i: int) -> int:
            parent.setdefault(i, i)
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        edges = []
        for later, earlier, sim, contained in pairs:
            if owner[later] == owner[earlier]:
                continue  # one conversation repeating itself is not a copied example
            edges.append((later, earlier, sim, contained))
            a, b = root(later), root(earlier)
            if a != b:
                parent[max(a, b)] = min(a, b)
        groups: dict[int, list[tuple[int, int, float, float]]] = {}
        for edge in edges:
            groups.setdefault(root(edge[0]), []).append(edge)
        copies: dict[int, list[int]] = {}
        for i in copied:
            if original[i] in parent:
                copies.setdefault(original[i], []).append(answers[i][0])
        found = []
        for group in groups.values():
            members = sorted({p for e in group for p in e[:2]})
            lines = sorted({answers[p][0] for p in members})
            copy_lines = sorted({line for p in members for line in copies.get(p, ())} - set(lines))
            found.append((lines, copy_lines, group))
        for lines, copy_lines, group in sorted(found):
            first = lines[0]
            # The strongest evidence: the highest Jaccard, or, when no pair reaches the Jaccard
            # threshold, the strongest containment.
            best = max(group, key=lambda e: (e[2] >= threshold, e[2] if e[2] >= threshold else e[3]))
            later, earlier, sim, contained = best
            pair = f"lines {answers[earlier][0]} and {answers[later][0]}"
            if sim >= threshold:
                evidence = f"strongest Jaccard {sim:.2f} of word 3-grams ({pair}; flag >= {threshold:g})"
            else:
                words = profile.answer_word_lengths()
                small, big = (earlier, later) if words[earlier] <= words[later] else (later, earlier)
                evidence = (
                    f"line {answers[big][0]}'s answer holds {100 * contained:.0f}% of line {answers[small][0]}'s "
                    f"word 3-grams (flag >= {100 * self.opt['min-containment']:.0f}%; Jaccard {sim:.2f})"
                )
            who = "2 answers are near copies" if len(lines) == 2 else f"{len(lines)} answers are near copies of each other"
            extra = ""
            if copy_lines:
                extra = f"; plus {len(copy_lines)} exact copies of them (lines {line_list(copy_lines)})"
            yield self.diagnostic(
                ctx.path,
                first,
                f"{who} (lines {line_list(lines)}): {evidence}{extra}",
                related=[*lines[1:], *copy_lines][:50],
            )
