"""assistant-boilerplate: stock AI self-reference, disclaimers and service phrases in an answer."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from intone.lint.registry import Option, RecordRule
from intone.lint.text import anchors, phrase_key, pieces_at_spaces, quick_words, texts_with_words
from intone.schemas.locate import locate_field

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.schemas.jsonl import Line

# Matched against the answer lower-cased, with curly apostrophes made straight. Every phrase
# is bounded by non-word characters, so "as an airline" or "certainly not" never match.
_AI = r"(?:an? )?(?:ai|a\.i\.|artificial intelligence)"
_MODEL = r"(?:(?:large )?language model|llm|chatbot|virtual assistant|ai assistant)"
_SELF_REFERENCE = [
    # "as an AI language model", "as an AI assistant"; a bare "as an AI" only before a comma or "I"
    rf"as {_AI} (?:language model|model|assistant|chatbot)",
    r"as an? (?:ai|a\.i\.|artificial intelligence)(?=\s*[,;:]|\s+i\b)",
    r"as an? (?:large )?language model",
    rf"i(?:'m| am) (?:just |only |merely |simply )?(?:{_AI} (?:{_MODEL}|assistant)|{_AI}|an? {_MODEL})",
    (
        r"i (?:don't|do not) have (?:any )?(?:personal|my own) "
        r"(?:opinions?|preferences?|feelings?|emotions?|beliefs?|experiences?|views?|tastes?)"
    ),
    r"i (?:don't|do not) have (?:feelings|emotions|opinions|preferences) (?:like|the way|as) (?:humans|a human|people)",
    r"i (?:don't|do not|cannot|can't) (?:have access to|access|browse) (?:the internet|real-time)",
    r"i (?:don't|do not) have (?:access to )?real-time (?:information|data)",
    r"as of my (?:last|latest|most recent) (?:update|training(?: data)?|knowledge update)",
    r"(?:my )?knowledge cut-?off",
    r"my training data",
    r"(?:developed|created|trained|made|built) by (?:openai|anthropic|google deepmind|meta ai|mistral ai)",
    r"i(?:'m| am) (?:chatgpt|gpt-?[345](?:\.5)?(?:-?turbo)?)",
]
_SERVICE = [
    # "I hope that helps" but not "I hope that helps the roses"
    (
        r"i hope (?:this|that) (?:helps(?!\s+(?!you\b|a bit\b|a little\b)[a-z])"
        r"|was helpful|is helpful|answers your question|clarifies)"
    ),
    r"feel free to (?:ask|reach out|let me know|contact)",
    (
        r"let me know if (?:there(?:'s| is) anything else|you (?:have|need|would like|'d like|want) "
        r"(?:any )?(?:further |more |other |additional )?(?:questions|help|assistance|clarification|information))"
    ),
    r"(?:don't|do not) hesitate to (?:ask|reach out|contact|let me know)",
    r"i(?:'d| would) be (?:happy|glad|delighted) to (?:help|assist)",
    r"is there anything else i can (?:help|assist|do for you)",
    r"how (?:can|may) i (?:assist|help) you today",
]
# Only as the first words of an answer.
_OPENERS = [
    r"certainly!",
    r"of course!",
    r"(?:what an? |that's an? |that is an? )?(?:great|excellent|fantastic) question[!.,]",
]
# An apostrophe may be left out: "dont", "im".
_PHRASE_RE = re.compile(
    r"(?<![\w'])(?:" + "|".join(p.replace("'", "'?") for p in _SELF_REFERENCE + _SERVICE) + r")(?![\w'])"
)
# Every phrase above holds one of these words (in `intone.lint.text`'s words: apostrophes
# dropped, punctuation splitting): an answer with none of them is not searched. Splitting an
# answer into words once is far cheaper than the long alternation, or than 35 substring scans.
_ANCHORS = anchors(
    "ai artificial language llm chatbot assistant personal own feelings emotions opinions preferences real",
    "internet update training cutoff cut",
    "openai anthropic deepmind meta mistral chatgpt hope free know hesitate happy glad delighted else today",
)
_BLOCK_TEXT_MAX = 1 << 16
"""Longer answers skip the block search (its arrays grow with the text: eight bytes a byte)."""
_BLOCK_WORDS = _ANCHORS | anchors("certainly course question gpt gpt3 gpt4 gpt5 gpt3turbo gpt4turbo gpt5turbo")
"""The words of which an answer holds one when it holds a phrase or an opener ("Certainly!",
"Of course!", "Great question!"), the GPT names among them ("GPT-4" is the words "gpt" and
"4"), unless it says "A.I." (`_BLOCK_PAIRS`)."""
_BLOCK_PAIRS = (("a", "i"),)
""""A.I." in words."""
_OPENER_RE = re.compile(r"\s*(?:" + "|".join(_OPENERS) + ")")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _owners(lines: Sequence[Line]) -> list[int]:
    """For each answer of these lines, in order, the index of its line."""
    return [n for n, line in enumerate(lines) for msg in line.record.messages if msg.role == "assistant"]


def stock_phrases(text: str) -> list[str]:
    """The stock assistant phrases in `text`, as written, in order (an opener first)."""
    low = text.lower()
    if not low.isascii():
        low = low.translate(_APOSTROPHES)  # same length as `text`: spans map back
    spans = []
    opener = _OPENER_RE.match(low)
    if opener:
        spans.append((len(opener.group()) - len(opener.group().lstrip()), opener.end()))
    if any(not _ANCHORS.isdisjoint(quick_words(piece)) for piece in pieces_at_spaces(low)) or "gpt" in low or "a.i." in low:
        spans += [m.span() for m in _PHRASE_RE.finditer(low)]
    return [text[a:b] for a, b in spans]


class AssistantBoilerplate(RecordRule):
    """
    ## What it does
    Reports an answer holding stock AI-assistant phrasing, once per answer, listing every phrase
    found. Matching ignores case, treats ’ as ', and respects word boundaries. The phrases:

    - self-reference: "as an AI language model / assistant / chatbot", "as an AI," (a bare
      "as an AI" only before a comma or "I"), "as a (large) language model", "I'm (just) an
      AI", "I am a language model", "I'm an AI assistant" ("A.I." and "artificial intelligence"
      as well as "AI");
    - disclaimers: "I don't have personal opinions / preferences / feelings / emotions /
      beliefs / experiences / views", "I don't have feelings like humans", "I can't browse the
      internet", "I don't have real-time information";
    - knowledge cutoff: "as of my last update / training", "knowledge cutoff", "my training data";
    - vendors and models: "developed / created / trained by OpenAI / Anthropic / Google DeepMind /
      Meta AI / Mistral AI", "I am ChatGPT", "I'm GPT-4";
    - service phrases: "I hope this helps", "feel free to ask / reach out", "let me know if
      there's anything else / you have any questions", "don't hesitate to ask", "I'd be happy to
      help", "is there anything else I can help with", "how can I assist you today";
    - openers, only as an answer's first words: "Certainly!", "Of course!",
      "Great question!" (also "That's a great question," and "What an excellent question.").

    Only assistant turns are read. One occurrence in a file is enough to report.

    ## Why is this bad?
    These phrases come from a general chat assistant, not from the character. A small model
    fine-tuned on a few hundred examples picks them up quickly: one "As an AI language model"
    in the data teaches the persona to step out of character and talk like a product.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "Favourite tea?"}, {"role": "assistant", "content": "Certainly! As an AI, I don't have personal preferences. I hope this helps!"}]}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "Favourite tea?"}, {"role": "assistant", "content": "Nettle, duckling, brewed strong enough to stand a spoon in."}]}
    ```

    ## Options
    - `allow` (list of strings, default `[]`): phrases the persona may say. A found phrase is
      not reported when an allowed phrase's words occur in it (case and punctuation ignored), so
      `allow = ["as an AI"]` also allows "As an AI language model" for a robot persona.
    """

    code = "IN440"
    name = "assistant-boilerplate"
    severity = "warning"
    summary = 'Answer uses stock AI-assistant phrasing ("As an AI", "I hope this helps")'
    fix_hint = "Rewrite the answer in the character's own words, or list the phrase under `allow`."
    options = (Option("allow", [], "Phrases the persona may say (not reported)."),)

    def check_many(self, lines: Sequence[Line], ctx: LintContext) -> Iterator[Diagnostic]:
        # One search of the whole block for the answers that could hold a phrase (an anchor
        # word, a GPT name, "A.I.", or an opener's key word); only their records are checked
        # one by one.
        texts = [msg.content for line in lines for msg in line.record.messages if msg.role == "assistant"]
        owner: list[int] | None = None
        huge: set[int] = set()  # records with an answer too long to search in a block: checked one by one
        if max(map(len, texts), default=0) > _BLOCK_TEXT_MAX:
            owner = _owners(lines)
            huge = {owner[i] for i, text in enumerate(texts) if len(text) > _BLOCK_TEXT_MAX}
            short = [i for i, text in enumerate(texts) if len(text) <= _BLOCK_TEXT_MAX]
            texts, owner = [texts[i] for i in short], [owner[i] for i in short]
        candidates = texts_with_words(texts, _BLOCK_WORDS, _BLOCK_PAIRS)
        if candidates or huge:
            owner = owner if owner is not None else _owners(lines)
            for n in sorted({owner[i] for i in candidates} | huge):
                yield from self.check(lines[n], ctx)

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        allowed = [phrase_key(p) for p in self.opt["allow"]]
        for i, msg in enumerate(line.record.messages):
            if msg.role != "assistant":
                continue
            found = [p for p in stock_phrases(msg.content) if not any(a in phrase_key(p) for a in allowed)]
            found = list(dict.fromkeys(found))
            if not found:
                continue
            quoted = ", ".join(f'"{p}"' for p in found)
            noun = "phrase" if len(found) == 1 else "phrases"
            yield self.diagnostic(
                ctx.path,
                line.number,
                f"messages[{i}].content: stock assistant {noun} {quoted}",
                column=locate_field(line.raw, ("messages", i, "content")),
            )
