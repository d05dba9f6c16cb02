"""Dataset text made safe to show: never read as markup, control characters made visible, long text cut.

Every string that comes from a dataset, a path or a config (records, diagnostics, file names,
keys) reaches a widget as a Textual `Content` built here or with `Content.assemble`, never as a
markup string: escaping for Rich's parser does not protect against Textual's (a `[/]` or `["`
still breaks it), and Content is not parsed at all. Styles are Textual style strings, so
"red" is the same colour the markup `[red]` gave.
"""

from __future__ import annotations

from textual.content import Content

from intone.lint.printable import printable

SHOW_CHARS = 2000
"""Longest text shown in one place; the rest is summarised (a 50 MB line is not drawn)."""

_SURROGATES = {c: "\ufffd" for c in range(0xD800, 0xE000)}
"""A lone surrogate (a file name that is not UTF-8) cannot be written to the terminal."""


def shown(text: str, limit: int = SHOW_CHARS, *, one_line: bool = False) -> str:
    """`text` as it may be drawn: control characters as escapes (`printable`, as `intone lint`
    prints them), cut at `limit` characters; `one_line` also shows newlines and tabs as escapes."""
    extra = len(text) - limit
    if extra > 0:
        text = text[:limit]
    text = printable(text, multiline=not one_line)
    if not text.isprintable():
        text = text.translate(_SURROGATES)
    if extra > 0:
        text += f"… (+{extra:,} characters)"
    return text


def plain(text: str, style: str = "", limit: int = SHOW_CHARS, *, one_line: bool = False) -> Content:
    """Dataset text in one style: what it says is what is shown."""
    return Content.styled(shown(text, limit, one_line=one_line), style)


def lines(parts: list[Content]) -> Content:
    return Content("\n").join(parts)


def same(a: Content | None, b: Content) -> bool:
    """Equal text and styles (Content's own == compares the text only)."""
    return a is not None and a.plain == b.plain and a.spans == b.spans
