"""Exact duplicates, read from the dataset profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.stats import DatasetProfile


class DuplicateExample(DatasetRule):
    """
    ## What it does
    Reports an example whose messages are identical to an earlier one's after whitespace
    normalisation, with the earlier line as `related`.

    ## Why is this bad?
    A duplicate is trained twice per epoch: it weighs double, and if it also lands in the eval
    split the eval loss is flattered.

    ## Example
    Lines 4 and 17 hold the same conversation.

    ## Use instead
    Delete the later copy, or rewrite it into a genuinely different example.
    """

    code = "IN300"
    name = "duplicate-example"
    severity = "error"
    summary = "Exact duplicate of an earlier example"
    fix_hint = "Delete this copy or rewrite it into a different example."

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        first: dict[bytes, int] = {}
        for ex in profile.examples:
            earlier = first.setdefault(ex.example_key, ex.line)
            if earlier != ex.line:
                yield self.diagnostic(
                    ctx.path, ex.line, f"same conversation as line {earlier}", related=(earlier,)
                )


class DuplicatePrompt(DatasetRule):
    """
    ## What it does
    Reports an example whose user turns are the same as an earlier example's (case and
    whitespace ignored) while the answers differ.

    ## Why is this bad?
    Two different answers to one prompt pull the model two ways; one of them is usually an old
    draft. If both answers are wanted, the prompts should say what differs.

    ## Example
    Line 3: "Tell me a joke" -> joke A; line 40: "tell me a joke" -> joke B.

    ## Use instead
    Keep one, or vary the prompt ("Tell me a joke about boats").
    """

    code = "IN301"
    name = "duplicate-prompt"
    severity = "warning"
    summary = "Same user prompt as an earlier example"
    fix_hint = "Keep one answer, or make the prompts differ."

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        first: dict[str, tuple[int, bytes]] = {}
        for ex in profile.examples:
            if not ex.prompt:
                continue
            earlier = first.setdefault(ex.prompt, (ex.line, ex.example_key))
            if earlier[0] != ex.line and earlier[1] != ex.example_key:
                shown = ex.prompt if len(ex.prompt) <= 50 else ex.prompt[:47] + "..."
                yield self.diagnostic(
                    ctx.path,
                    ex.line,
                    f"prompt {shown!r} already appears on line {earlier[0]}",
                    related=(earlier[0],),
                )
