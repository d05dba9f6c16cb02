"""Dataset text made safe to echo on a terminal: the one place control characters are shown.

A dataset is written by hand or pasted from anywhere, so its text can hold an ESC that would
recolour the terminal, clear the screen or retitle the window when a message quotes it. Text
output (lint's text and GitHub formats, `intone stats`) passes every piece of dataset text
through `printable`. JSON and SARIF keep the true string: JSON escaping (`\\u001b`) already
makes it inert, and a program reading them should get the data as it is.
"""

from __future__ import annotations

import unicodedata

# Reorder the text shown around them ("Trojan source") or break a one-line quote in some terminals.
_BIDI_AND_LINE_BREAKS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` with control characters written as escapes: ESC as `\\x1b`, U+202E as `\\u202e`.

    A one-line quote (the default) also shows newline and tab as `\\n` and `\\t`; with
    `multiline`, newlines and tabs stay as they are. A carriage return is always shown, since
    on a terminal it moves the cursor back over what was printed. Everything else, emoji joiners
    and non-breaking spaces included, is left alone.
    """
    if text.isprintable():  # the common case: nothing to do, no copy
        return text
    keep = "\n\t" if multiline else ""
    return "".join(_escape(ch) if ch not in keep and _is_control(ch) else ch for ch in text)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in _BIDI_AND_LINE_BREAKS


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
