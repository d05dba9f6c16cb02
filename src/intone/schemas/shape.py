"""The record's shape without pydantic: key names, and a quick check for plainly valid records.

Importing pydantic and building the models costs about 200 ms on a small machine. The authoring
app shows its first screen before paying that: `plainly_valid` accepts only records that the
pydantic `Conversation` model also accepts (a test checks this on generated records), and answers
False, meaning "ask pydantic", for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES: tuple[str, ...] = ("system", "user", "assistant")
KNOWN_RECORD_KEYS = frozenset({"messages", "id", "tags", "notes", "split"})
KNOWN_MESSAGE_KEYS = frozenset({"role", "content"})
_ROLE_SET = frozenset(ROLES)


@dataclass(slots=True)
class Turn:
    """One message of a valid record, as the rules read it (a plain object: no pydantic)."""

    role: str
    content: str


@dataclass(slots=True)
class Record:
    """A valid record as every reader of `Line.record` sees it: the fields of the pydantic
    `Conversation`, in plain slotted objects. The schema is pydantic's; a record that plainly
    fits it (most) is built here without pydantic, about 4x faster (a lint pass builds one per
    line), and any other is validated by pydantic and then copied into these."""

    messages: list[Turn]
    id: str | int | None = None
    tags: list[str] | None = None
    notes: str | None = None
    split: str | None = None


def plain_record(data: Any) -> Record | None:
    """The record of `data` when the schema plainly accepts it; None may still be valid
    (pydantic decides)."""
    if type(data) is not dict:
        return None
    messages = data.get("messages")
    if type(messages) is not list:
        return None
    turns = []
    for message in messages:
        if type(message) is not dict:
            return None
        role = message.get("role")
        content = message.get("content")
        if type(role) is not str or role not in _ROLE_SET or type(content) is not str:
            return None
        turns.append(Turn(role, content))
    ident = data.get("id")
    if ident is not None and type(ident) not in (str, int):
        return None
    tags = data.get("tags")
    if tags is not None and (type(tags) is not list or any(type(t) is not str for t in tags)):
        return None
    notes, split = data.get("notes"), data.get("split")
    if (notes is not None and type(notes) is not str) or (split is not None and type(split) is not str):
        return None
    return Record(turns, ident, tags, notes, split)


def plainly_valid(data: Any) -> bool:
    """True only for a record the schema accepts; False may still be valid (pydantic decides)."""
    return plain_record(data) is not None


def render_loc(loc: tuple[str | int, ...]) -> str:
    """Render a pydantic `loc` as a field path: ("messages", 2, "content") -> messages[2].content."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
