"""Exact duplicates, read from the dataset profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import DatasetRule

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile


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
    cost = 0.03
    summary = "Exact duplicate of an earlier example"
    fix_hint = "Delete this copy or rewrite it into a different example."

    def finding(self, path: str, line: int, first: int) -> Diagnostic | None:
        """The finding for the example on `line` whose conversation first appears on line `first`
        (None when it is that first copy): the one place it is made, for `check_dataset` and for
        the editor's live lint, which keeps its own index of keys to lines."""
        if first == line:
            return None
        return self.diagnostic(path, line, f"same conversation as line {first}", related=(first,))

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        first: dict[bytes, int] = {}
        columns = profile.columns
        for line, key in zip(columns.line, columns.example_key, strict=True):
            found = self.finding(ctx.path, line, first.setdefault(key, line))
            if found is not None:
                yield found


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
    cost = 0.1
    summary = "Same user prompt as an earlier example"
    fix_hint = "Keep one answer, or make the prompts differ."

    def finding(self, path: str, line: int, prompt: str, first: int, same_example: bool) -> Diagnostic | None:
        """The finding for the example on `line` with normalised `prompt`, which first appears on
        line `first`; `same_example` when that first example is this one's exact copy (then
        duplicate-example reports it, not this rule). None for the first, or for an exact copy.
        The one place it is made, for `check_dataset` and for the editor's live lint."""
        if not prompt or first == line or same_example:
            return None
        shown = prompt if len(prompt) <= 50 else prompt[:47] + "..."
        return self.diagnostic(
            path, line, f"prompt {shown!r} already appears on line {first}", related=(first,)
        )

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        first: dict[str, tuple[int, bytes]] = {}
        columns = profile.columns
        for line, prompt, key in zip(columns.line, columns.prompt, columns.example_key, strict=True):
            if not prompt:
                continue
            earlier = first.setdefault(prompt, (line, key))
            found = self.finding(ctx.path, line, prompt, earlier[0], earlier[1] == key)
            if found is not None:
                yield found
