"""Rules about token counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.registry import Option, RecordRule, Rule

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.schemas.jsonl import Line


class TooLong(RecordRule):
    """
    ## What it does
    Reports an example whose rendered conversation is longer than `max-tokens` tokens.

    By default it counts with tiktoken's cl100k_base (offline) plus a small per-message
    allowance for the chat template. With `--tokenizer ID|PATH` (or `tokenizer = "..."` in
    config) it renders the conversation with that tokenizer's chat template and counts exactly.

    ## Why is this bad?
    Trainers truncate long examples, which cuts off the end of the answer, including the
    end-of-turn token, so the model learns to ramble without stopping. Others drop them silently.

    ## Example
    A 3,000-word story with `max-tokens = 2048`.

    ## Use instead
    Split the story into a multi-turn conversation ("...and then?"), shorten it, or raise
    `max-tokens` to what your trainer's `--max-length` really is.

    ## Options
    - `max-tokens` (also top-level in `[tool.intone]`)
    """

    code = "IN310"
    name = "too-long"
    severity = "error"
    summary = "Example has more tokens than max-tokens"
    options = (Option("max-tokens", 2048, "Longest example, in tokens, the trainer will accept.", low=1),)
    fix_hint = "Shorten or split the example, or raise max-tokens to your trainer's max length."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        limit = self.opt["max-tokens"]
        messages = [(m.role, m.content) for m in line.record.messages]
        if ctx.counter.upper_bound(messages) <= limit:
            return  # cheap bound: no need to tokenize
        # A 10 MB turn would take seconds to tokenize; a prefix already proves it is too long.
        cap = 64 * limit
        capped = [(role, text[:cap]) for role, text in messages]
        was_capped = any(len(text) > cap for _, text in messages)
        count = ctx.counter.count_conversation(capped)
        if was_capped and count <= limit:
            count, was_capped = ctx.counter.count_conversation(messages), False
        if count > limit:
            amount = f"at least {count}" if was_capped else f"{count}"
            yield self.diagnostic(
                ctx.path,
                line.number,
                f"{amount} tokens ({ctx.counter.name}), over max-tokens {limit}",
            )


class TruncatedAssistantTurn(Rule):
    """
    ## What it does
    Reported by `intone train` before training: an example whose tokens, rendered with the
    model's own chat template and tokenizer, run past `--max-length` so that cutting it would
    drop tokens of an assistant turn, the tokens the model is trained on.

    `intone lint` cannot see this (it does not know the trainer's template and `--max-length`);
    `too-long` is its estimate at lint time.

    ## Why is this bad?
    A cut assistant turn loses its end, and with it the end-of-turn token: the model learns to
    stop in mid-sentence, or not at all. intone refuses to train on it rather than cut silently.

    ## Example
    A 1,500-token story with `intone train --max-length 1024`.

    ## Use instead
    Shorten or split the example, raise `--max-length`, or pass `--drop-long` to leave it out.
    """

    code = "IN311"
    name = "truncated-assistant-turn"
    severity = "error"
    summary = "Training would cut trained assistant tokens at --max-length"
    aliases = ("TR001",)
    reported_by = "intone train"
    fix_hint = "Shorten the example, raise --max-length, or pass --drop-long to skip it."

    def finding(self, path: str, line: int, n_tokens: int, n_trained: int, max_length: int, lost: int) -> Diagnostic:
        return self.diagnostic(
            path,
            line,
            f"{n_tokens} tokens with {n_trained} trained; --max-length {max_length} would cut {lost} trained "
            "assistant token(s)",
        )
