"""eval-leakage: eval prompts that are, or nearly are, training prompts (`intone lint --eval`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import CrossRule, Option

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile


class EvalLeakage(CrossRule):
    """
    ## What it does
    With an eval file (`intone lint train.jsonl --eval eval.jsonl`, or `eval = "..."` in
    config), reports eval examples whose prompt is identical or near-identical to a training
    prompt, after normalisation (case, punctuation, apostrophes and whitespace ignored).
    Near-identical means one word added or removed (when the longer prompt has 6+ words), or a Jaccard
    similarity of word pairs of at least `threshold`. Each user turn of a multi-turn example
    is compared too. Reported on the eval file's line, with the training line as `related`.

    ## Why is this bad?
    An eval prompt the model was trained on measures memory, not generalisation: the eval
    looks good while the model may fail on anything new.

    ## Example
    eval line 6: "tell me a story about a fox and old friends" — training line 37 has "Tell me a
    story about a fox and old friends."

    ## Use instead
    Write fresh eval prompts, or move the leaked examples out of the training file.

    ## Options
    - `threshold` (float, default 0.8): Jaccard similarity of normalised word pairs at which prompts count as near-identical.
    """

    MIN_WORDS_ONE_WORD = 6
    """One word added or removed counts when the longer prompt has at least this many words
    (so "Tell me a joke" and "Tell me a bad joke" stay different prompts)."""

    code = "IN500"
    name = "eval-leakage"
    severity = "error"
    summary = "Eval prompt is identical or near-identical to a training prompt"
    fix_hint = "Write a fresh eval prompt, or move this example out of the training file."
    options = (
        Option("threshold", 0.8, "Jaccard similarity of word pairs at which prompts are near-identical.", low=0, high=1),
    )

    def check_cross(
        self, train: DatasetProfile, evaluation: DatasetProfile, ctx: LintContext
    ) -> Iterator[Diagnostic]:
        from intone.lint.similarity import near_duplicate_pairs
        from intone.lint.text import words

        train_texts, train_lines = _prompt_texts(train)
        eval_texts, eval_lines = _prompt_texts(evaluation)
        if not train_texts or not eval_texts:
            return
        exact: dict[tuple[str, ...], int] = {}
        minus_one: dict[tuple[str, ...], int] = {}  # train prompts with one word left out
        for text, line in zip(train_texts, train_lines, strict=True):
            key = tuple(words(text))
            exact.setdefault(key, line)
            if len(key) >= self.MIN_WORDS_ONE_WORD:
                for i in range(len(key)):
                    minus_one.setdefault(key[:i] + key[i + 1 :], line)
        threshold = self.opt["threshold"]
        # eval line -> (rank, training line, how); identical beats one word apart beats Jaccard.
        found: dict[int, tuple[float, int, str]] = {}
        for text, line in zip(eval_texts, eval_lines, strict=True):
            key = tuple(words(text))
            if not key:
                continue
            if key in exact:
                found[line] = (3.0, exact[key], "is identical (after normalisation) to")
                continue
            if line in found or len(key) + 1 < self.MIN_WORDS_ONE_WORD:
                continue
            if key in minus_one:  # eval = train with a word removed
                found[line] = (2.0, minus_one[key], "is one word short of")
            elif len(key) >= self.MIN_WORDS_ONE_WORD:
                for i in range(len(key)):  # eval = train with a word added
                    hit = exact.get(key[:i] + key[i + 1 :])
                    if hit is not None:
                        found[line] = (2.0, hit, "has one word more than")
                        break
        n_train = len(train_texts)
        pairs = near_duplicate_pairs(train_texts + eval_texts, threshold, k=2)
        for later, earlier, sim in pairs:
            if later < n_train or earlier >= n_train:
                continue  # train-train or eval-eval
            eval_line = eval_lines[later - n_train]
            train_line = train_lines[earlier]
            if eval_line not in found or sim > found[eval_line][0]:
                found[eval_line] = (
                    sim,
                    train_line,
                    f"is near-identical (Jaccard {sim:.2f} of word pairs) to",
                )
        prompt_of = {ex.line: ex.prompt for ex in evaluation.examples}
        for line, (_rank, train_line, how) in sorted(found.items()):
            prompt = prompt_of[line]
            shown = prompt if len(prompt) <= 60 else prompt[:57] + "..."
            yield self.diagnostic(
                ctx.path,
                line,
                f"eval prompt {shown!r} {how} the training prompt on {train.path}:{train_line}",
                related=(train_line,),
            )


def _prompt_texts(profile: DatasetProfile) -> tuple[list[str], list[int]]:
    """Each example's user turns joined, plus, for multi-turn examples, each user turn of three
    or more words on its own (a leaked opening turn is a leak too), with the example's line."""
    texts: list[str] = []
    lines: list[int] = []
    for ex in profile.examples:
        if not ex.prompt:
            continue
        texts.append(ex.prompt)
        lines.append(ex.line)
        turns = ex.prompt.split("\n")
        if len(turns) > 1:
            for turn in turns:
                if len(turn.split()) >= 3:
                    texts.append(turn)
                    lines.append(ex.line)
    return texts, lines
