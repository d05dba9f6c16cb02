"""Editing one record, purely: each function returns a new dict and never changes the one given
(undo keeps plain references to the old ones). No textual here."""

from __future__ import annotations

from typing import Any


def empty_record() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]}


def _with_messages(data: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    new = dict(data)
    new["messages"] = messages
    return new


def system_offset(data: dict[str, Any]) -> int:
    msgs = data.get("messages", [])
    return 1 if msgs and msgs[0].get("role") == "system" else 0


def set_content(data: dict[str, Any], index: int, text: str) -> dict[str, Any]:
    msgs = list(data["messages"])
    msgs[index] = {**msgs[index], "content": text}
    return _with_messages(data, msgs)


def set_role(data: dict[str, Any], index: int, role: str) -> dict[str, Any]:
    msgs = list(data["messages"])
    msgs[index] = {**msgs[index], "role": role}
    return _with_messages(data, msgs)


def insert_turn(data: dict[str, Any], index: int, role: str, text: str = "") -> dict[str, Any]:
    msgs = list(data["messages"])
    msgs.insert(index, {"role": role, "content": text})
    return _with_messages(data, msgs)


def remove_turn(data: dict[str, Any], index: int) -> dict[str, Any]:
    msgs = list(data["messages"])
    del msgs[index]
    return _with_messages(data, msgs)


def move_turn(data: dict[str, Any], index: int, delta: int) -> dict[str, Any]:
    msgs = list(data["messages"])
    target = index + delta
    if not (0 <= target < len(msgs)):
        return data
    msgs[index], msgs[target] = msgs[target], msgs[index]
    return _with_messages(data, msgs)


def set_system(data: dict[str, Any], text: str | None) -> dict[str, Any]:
    """Add, change or (with None) remove the leading system message."""
    msgs = list(data["messages"])
    has = system_offset(data) == 1
    if text is None:
        return _with_messages(data, msgs[1:]) if has else data
    if has:
        msgs[0] = {**msgs[0], "content": text}
    else:
        msgs.insert(0, {"role": "system", "content": text})
    return _with_messages(data, msgs)


def next_role(data: dict[str, Any]) -> str:
    msgs = data.get("messages", [])
    return "assistant" if msgs and msgs[-1].get("role") == "user" else "user"
