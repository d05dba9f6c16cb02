"""Find the column of a field (e.g. messages[2].content) in one JSONL line, for diagnostics.

Only called when a finding is reported, so it favours simplicity over speed.
"""

from __future__ import annotations

import json
from json.decoder import scanstring

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def locate_field(raw: bytes, path: tuple[str | int, ...]) -> int | None:
    """1-based character column of the deepest part of `path` present in the line.

    For an object key it is the key's opening quote; for a list item, the item's first character.
    A missing field resolves to its parent. None if the line is not valid JSON.
    """
    try:
        text = raw.decode("utf-8")
        pos = _skip_ws(text, 0)
        found = pos
        for part in path:
            nxt = _step(text, pos, part)
            if nxt is None:
                break
            found, pos = nxt
        return found + 1
    except (ValueError, IndexError, RecursionError):
        return None


def _step(text: str, pos: int, part: str | int) -> tuple[int, int] | None:
    """(column of the part, start of its value) inside the container at `pos`, or None."""
    if isinstance(part, str) and text[pos] == "{":
        pos = _skip_ws(text, pos + 1)
        while text[pos] == '"':
            key_at = pos
            key, pos = scanstring(text, pos + 1)
            pos = _skip_ws(text, pos)
            pos = _skip_ws(text, pos + 1)  # past ':'
            if key == part:
                return key_at, pos
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if text[pos] != ",":
                return None
            pos = _skip_ws(text, pos + 1)
        return None
    if isinstance(part, int) and text[pos] == "[":
        pos = _skip_ws(text, pos + 1)
        index = 0
        while text[pos] != "]":
            if index == part:
                return pos, pos
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if text[pos] != ",":
                return None
            pos = _skip_ws(text, pos + 1)
            index += 1
        return None
    return None
