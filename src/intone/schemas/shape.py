"""The record's shape without pydantic: key names, and a quick check for plainly valid records.

Importing pydantic and building the models costs about 200 ms on a small machine. The authoring
app shows its first screen before paying that: `plainly_valid` accepts only records that the
pydantic `Conversation` model also accepts (a test checks this on generated records), and answers
False, meaning "ask pydantic", for anything else.
"""

from __future__ import annotations

from typing import Any

ROLES: tuple[str, ...] = ("system", "user", "assistant")
KNOWN_RECORD_KEYS = frozenset({"messages", "id", "tags", "notes", "split"})
KNOWN_MESSAGE_KEYS = frozenset({"role", "content"})
_OPTIONAL_TEXT = ("notes", "split")


def plainly_valid(data: Any) -> bool:
    """True only for a record the schema accepts; False may still be valid (pydantic decides)."""
    if type(data) is not dict:
        return False
    messages = data.get("messages")
    if type(messages) is not list:
        return False
    for message in messages:
        if type(message) is not dict:
            return False
        if type(message.get("role")) is not str or message["role"] not in ROLES:
            return False
        if type(message.get("content")) is not str:
            return False
    ident = data.get("id")
    if ident is not None and type(ident) not in (str, int):
        return False
    tags = data.get("tags")
    if tags is not None and (type(tags) is not list or any(type(t) is not str for t in tags)):
        return False
    return all(data.get(key) is None or type(data[key]) is str for key in _OPTIONAL_TEXT)


def render_loc(loc: tuple[str | int, ...]) -> str:
    """Render a pydantic `loc` as a field path: ("messages", 2, "content") -> messages[2].content."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
