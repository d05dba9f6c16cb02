"""templated-prompt: many prompts share a fixed frame (a "[Tag]", a stock opening or closing)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from intone.lint.profile import evenly_spaced
from intone.lint.registry import DatasetRule, Option
from intone.lint.text import line_list, percent, words
from intone.lint.wordlists import PROMPT_STOPWORDS

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.profile import DatasetProfile

_TAG_RE = re.compile(r"^\[[^\]\n]{1,40}\]")
MIN_FRAME, MAX_FRAME = 2, 8
"""Shortest and longest word frames counted."""


class DistinctPrompts:
    """Every user turn, whitespace-normalised and case-folded, each text once, in order of first
    occurrence: `texts`, and `lines()`, the line each first occurs on (found only when a
    finding needs them)."""

    def __init__(self, profile: DatasetProfile) -> None:
        self._prompts, self._lines = profile.columns.prompt, profile.columns.line
        joined = "\x00".join(self._prompts)
        self._multi = "\n" in joined  # some record has several user turns
        # Whether some prompt (some user turn) opens with "[".
        self.any_bracket = joined.startswith("[") or "\x00[" in joined or (self._multi and "\n[" in joined)
        if not self._multi:  # one user turn each (most files): at C speed
            self.texts = [p for p in dict.fromkeys(self._prompts) if p]
        else:
            self.texts = list(self._first_lines())
        self._found: list[int] | None = None

    def _first_lines(self) -> dict[str, int]:
        if not self._multi:
            return dict(zip(reversed(self._prompts), reversed(self._lines), strict=True))
        seen: dict[str, int] = {}
        for line, prompt in zip(self._lines, self._prompts, strict=True):
            if "\n" not in prompt:  # one user turn (most records)
                if prompt:
                    seen.setdefault(prompt, line)
                continue
            for turn in prompt.split("\n"):
                seen.setdefault(turn, line)
        return seen

    def lines(self) -> list[int]:
        """For each of `texts`, the line it first occurs on."""
        if self._found is None:
            first = self._first_lines()
            self._found = [first[text] for text in self.texts]
        return self._found


class TemplatedPrompt(DatasetRule):
    """
    ## What it does
    Looks for a frame shared by many distinct prompts (every user turn, exact duplicates counted
    once, case and punctuation ignored):

    - a bracketed tag opening the prompt, `[Math] …`, `[History] …`: the shape counts, even when
      the tag words differ; reported above `max-tag-share`;
    - the same first or last two to eight words, "Could you explain …", "… Answer in one
      sentence."; reported above `max-share`. A frame made only of question words and grammar
      ("what is the", "how do I", "can you") is how people ask, not a template, and a prompt must
      hold more than the frame. After a tag, the words following it are counted.

    Of nested frames the longest is reported ("could you explain the" hides "could you explain"
    when they cover nearly the same prompts). The related lines are the prompts with the frame.

    ## Why is this bad?
    The model learns to answer a frame users never type. Trained on "[Category] question"
    prompts, it answers best when the tag is there and worse on plain questions; a fixed
    closing instruction becomes a switch the real user never flips.

    ## Example
    31 of 40 prompts begin with a tag: `[Math] What is a prime?`, `[History] Who built Rome?`.

    ## Use instead
    Write prompts the way users will: `What's a prime number?`, `who built rome`. Keep a
    category in the record's `tags`, not in the prompt.

    ## Options
    - `max-share` (float, default 0.5): flag a word frame shared by more than this share of prompts.
    - `max-tag-share` (float, default 0.2): flag bracketed tags opening more than this share.
    - `min-prompts` (int, default 20): fewest distinct prompts needed to judge.
    """

    code = "IN304"
    name = "templated-prompt"
    severity = "warning"
    cost = 0.35
    summary = "Many prompts share a fixed frame (a [Tag], the same opening or closing words)"
    fix_hint = "Write prompts as users type them; move categories to `tags` and drop the fixed instruction."
    options = (
        Option("max-share", 0.5, "Flag a word frame shared by more than this share.", low=0, high=1),
        Option("max-tag-share", 0.2, "Flag bracketed tags opening more than this share.", low=0, high=1),
        Option("min-prompts", 20, "Fewest distinct prompts needed to judge.", low=2),
    )
    SAMPLE = 5000

    def check_dataset(self, profile: DatasetProfile, ctx: LintContext) -> Iterator[Diagnostic]:
        prompts = DistinctPrompts(profile)
        texts = prompts.texts
        total = len(texts)
        if total < self.opt["min-prompts"]:
            return
        if prompts.any_bracket:
            tags = [_TAG_RE.match(text) if text[:1] == "[" else None for text in texts]
            n_tagged = sum(1 for tag in tags if tag)
            if n_tagged > self.opt["max-tag-share"] * total:
                tagged = [line for line, tag in zip(prompts.lines(), tags, strict=True) if tag]
                common = Counter(tag.group() for tag in tags if tag).most_common(3)
                shown = ", ".join(f'"{tag}"' for tag, _ in common)
                what = f'start with a bracketed tag "[…]" (e.g. {shown})'
                yield self._finding(ctx, len(tagged), sorted(set(tagged)), total, what, "max-tag-share")
            texts = [text[tag.end() :] if tag else text for text, tag in zip(texts, tags, strict=True)]
        # Frames are counted on an evenly spaced sample (a frame in more than max-share of the
        # prompts is in about that share of any even sample); their lines come from every prompt.
        sample = evenly_spaced(len(texts), self.SAMPLE)
        sampled_words = [words(texts[i]) for i in sample]
        for end in (0, 1):
            for frame, count, lines in self._frames(prompts, texts, sampled_words, len(sample), end):
                verb = "start" if end == 0 else "end"
                yield self._finding(ctx, count, lines, total, f'{verb} with "{" ".join(frame)}"', "max-share")

    def _frames(
        self, prompts: DistinctPrompts, texts: list[str], sampled_words: list[list[str]], judged: int, end: int
    ) -> list[tuple[tuple[str, ...], int, list[int]]]:
        """The frames over `max-share` at one end (0: first words, 1: last words), longest kept."""
        limit = self.opt["max-share"] * judged
        # Frames of n words over the limit, n = 2, 3, ...: a frame over it has its shorter
        # frames over it too, so each size counts only the prompts whose shorter frame was.
        if end == 0:
            alive = [(tuple(ws[:MAX_FRAME]), len(ws) - 1) for ws in sampled_words]
        else:
            alive = [(tuple(ws[-MAX_FRAME:]), len(ws) - 1) for ws in sampled_words]
        counts: dict[tuple[str, ...], int] = {}
        for n in range(MIN_FRAME, MAX_FRAME + 1):
            if end == 0:
                layer = Counter(edge[:n] for edge, most in alive if n <= most)
            else:
                layer = Counter(edge[-n:] for edge, most in alive if n <= most)
            grown = {g: c for g, c in layer.items() if c > limit}
            if not grown:
                break
            counts.update(grown)
            alive = [(edge, most) for edge, most in alive if n < most and (edge[:n] if end == 0 else edge[-n:]) in grown]
        over = {g: c for g, c in counts.items() if not all(w in PROMPT_STOPWORDS for w in g)}
        reported: list[tuple[str, ...]] = []
        for gram in sorted(over, key=lambda g: (-len(g), -over[g])):
            if any(_inside(longer, gram, end) and over[longer] >= 0.8 * over[gram] for longer in reported):
                continue
            reported.append(gram)
        found = []
        for gram in sorted(reported, key=lambda g: -over[g]):
            n = len(gram)
            lines = []
            for line, text in zip(prompts.lines(), texts, strict=True):
                ws = words(text)
                if len(ws) > n and tuple(ws[:n] if end == 0 else ws[-n:]) == gram:
                    lines.append(line)
            found.append((gram, len(lines), sorted(set(lines))))
        return found

    def _finding(
        self, ctx: LintContext, count: int, lines: list[int], total: int, what: str, option: str
    ) -> Diagnostic:
        return self.diagnostic(
            ctx.path,
            None,
            f"{count} of {total} prompts ({percent(count / total)}, flag > {percent(self.opt[option])}) {what}; "
            f"lines {line_list(lines)}",
            related=lines[:50],
        )


def _inside(longer: tuple[str, ...], shorter: tuple[str, ...], end: int) -> bool:
    if len(longer) <= len(shorter):
        return False
    return longer[: len(shorter)] == shorter if end == 0 else longer[-len(shorter) :] == shorter
