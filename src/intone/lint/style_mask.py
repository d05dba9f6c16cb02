"""Masking for the voice features: an answer's prose, with its content taken out.

Code, commands, URLs, e-mail addresses, file paths, identifiers, numbers, list and heading
markers say what an answer is about, not how its writer sounds; `mask_content` removes them so
`intone.lint.style` measures the sentences around them.
"""

from __future__ import annotations

import re

# Tools whose name at the start of a line, with no sentence punctuation at its end, makes the
# line a command. Words that are also ordinary English verbs (make, go, cat, touch) are left out.
_CLI_TOOLS = (
    "npm|npx|yarn|pnpm|pip|pip3|pipx|poetry|conda|uv|git|curl|wget|docker|docker-compose|kubectl|"
    "helm|sudo|apt|apt-get|brew|mkdir|cd|ls|chmod|chown|rm|cp|mv|python|python3|node|deno|bun|"
    "cargo|rustup|gcc|javac|mvn|gradle|ssh|scp|tar|unzip|grep|systemctl|terraform|aws|gcloud|az"
)
_FENCE = re.compile(r"(```|~~~)[\s\S]*?(?:\1|\Z)")
_LINE_KINDS = (
    r"[ \t]*[$#>][ \t]+(?=\S)(?:" + _CLI_TOOLS + r")\b.*",  # $ npm install
    r"[ \t]*\$[ \t]+\S.*",  # $ anything
    r"[ \t]*(?:" + _CLI_TOOLS + r")(?![\w'’-])(?:[ \t][^\n]*)?[^\s.!?,;:][ \t]*",  # npm init --yes
    r"[ \t]*(?:" + _CLI_TOOLS + r")[ \t]*",  # a bare tool name on its own line
    r"(?:\t| {4,})(?![ \t]*(?:[-*+•]|\d+[.)])[ \t]).*",  # indented code, not a nested list item
    r"[ \t]*\|.*\|[ \t]*",  # a table row
    # Code pasted without a fence: a line that starts or ends the way code does.
    r"[ \t]*(?://|/\*|\*/|#!|#include|[{}\[\]]|\)[;,.]?$|\.\w+\(|</?[A-Za-z]|@\w+\b).*",
    (
        r"[ \t]*(?:const|let|var|import|export|function|def|class|return|async|await|public|private|"
        r"static|package|using|namespace|elif|except|finally|console\.\w+|print|fetch|require)\b[^\n]*"
        r"[^\s.!?][ \t]*"
    ),
    r"[ \t]*\w+(?:\.\w+)*[ \t]*[-+*/]?=[ \t]*\S.*",  # x = 5
)
# A line that ends the way code does: ";", "{", "}", "=>", a call. (Its own pattern: it reads the
# whole line, so a one-line answer holding none of those characters skips it.)
_CODE_END = r"[^\n]*(?:[;{}]|=>|\w\([^\n]*\)[;,:]?)[ \t]*(?://[^\n]*)?"
_CODE_END_CHARS = ";{}("
_LINE_MASK = re.compile(r"^(?:" + "|".join((*_LINE_KINDS[:-1], _CODE_END, _LINE_KINDS[-1])) + r")$", re.MULTILINE)
_LINE_MASK_STARTS = re.compile(r"^(?:" + "|".join(_LINE_KINDS) + r")$", re.MULTILINE)
# Inline content, each pattern with a cheap test that skips it for plain prose.
_INLINE: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(hint), re.compile(pattern))
    for hint, pattern in (
        (r"`", r"`[^`\n]*`"),  # inline code
        (r"<", r"<[/!]?[A-Za-z][^<>\n]*>"),  # HTML/XML tags
        (r"://|www\.", r"(?:https?|ftp)://\S+|\bwww\.\S+"),  # URLs
        (r"@", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail addresses
        (
            r"[/\\]",
            (
                r"[A-Za-z]:\\\S*"  # C:\x
                r"|(?<![\w/])~?/[\w.-]+(?:/[\w.-]*)*"  # /usr/bin, ~/x
                r"|(?<![\w/])\.{1,2}/[\w./-]+"  # ./x, ../x
                r"|[\w-]+(?:/[\w.-]+)+\.[A-Za-z]\w*"  # a/b/c.py
                r"|[\w-]+(?:/[\w.-]+){2,}"
            ),  # a/b/c
        ),
        (r"_", r"\w*_\w*"),  # snake_case identifiers, YOUR_API_KEY
        # (The next two hints find "[a-z][A-Z]" and "\w\.\w|\w\(\)" from the rarer character, which
        # the regex engine skips to: several times quicker on plain prose.)
        (r"[A-Z](?<=[a-z][A-Z])", r"\b[a-z]+[A-Z]\w*"),  # camelCase, dApp
        (r"\.(?<=\w\.)\w|\(\)(?<=\w\(\))", r"\b[A-Za-z]\w+(?:\.\w+)+(?:\(\))?|\b\w+\(\)"),  # Node.js, res.json(), calls()
        (r"\d", r"\w*\d\w*(?:[.,:/-]\d\w*)*"),  # numbers and tokens with digits: 3.5, 1,000, v2, 10px
    )
)
# Hints that are plain substrings, tested with `in` (far quicker than a regex search); `\d`
# only so for ASCII text (other scripts have digits of their own).
_HINT_LITERALS = {
    "`": ("`",),
    "<": ("<",),
    "://|www\\.": ("://", "www."),
    "@": ("@",),
    "[/\\\\]": ("/", "\\"),
    "_": ("_",),
    "\\d": tuple("0123456789"),
}
# A list of three or more names or single words ("Ethereum, Polygon, Solana, and Astar";
# "reliable, ordered, slow") is content: its commas say what the answer covers, not how its
# writer punctuates.
_NAME_LIST = re.compile(
    r"(?<![\w'’])(?:(?:[A-Z][\w'’-]*[ \t][A-Z][\w'’-]*|[\w'’-]+),[ \t]+){2,}"
    r"(?:(?:and|or)[ \t]+)?[\w'’-]+"
)
_MARKER_STARTS = frozenset("-*+•#>0123456789")
"""The first character of a line that `_MARKERS` may strip a marker from."""
_MARKERS = re.compile(r"^[ \t]*(?:[-*+•]|\d+[.)]|#{1,6}|>)[ \t]+|\*\*|__", re.MULTILINE)


def mask_content(text: str) -> str:
    """The answer's prose: code, commands, URLs, paths, identifiers and numbers taken out, and
    list, heading and bold markers removed. Block masks leave a paragraph break, so the text on
    either side stays in separate sentences. Acronyms are handled by `answer_style`, which needs
    the surrounding words to tell an acronym from shouting."""
    if "```" in text or "~~~" in text:
        text = _FENCE.sub("\n\n", text)
    if "\n" in text:
        text = _LINE_MASK.sub("", text)
    elif (  # one line: the only line start is the first character
        _LINE_MASK if "=>" in text or any(c in text for c in _CODE_END_CHARS) else _LINE_MASK_STARTS
    ).match(text):
        text = ""
    starts = text.lstrip(" \t")[:1]
    if "\n" in text or "**" in text or "__" in text or starts in _MARKER_STARTS or not text.isascii():
        text = _MARKERS.sub("", text)
    ascii_text = text.isascii()
    for hint, pattern in _INLINE:
        literals = _HINT_LITERALS.get(hint.pattern)
        if literals is not None and (ascii_text or hint.pattern != r"\d"):
            if not any(map(text.__contains__, literals)):
                continue
        elif not hint.search(text):
            continue
        text = pattern.sub(" ", text)
    if "," in text:
        text = _NAME_LIST.sub(" ", text)
    return text
