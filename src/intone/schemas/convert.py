"""Import prompt/completion, ShareGPT and Alpaca-style records into the chat `messages` format."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intone.schemas.jsonl import Line

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}
_META = ("id", "tags", "notes", "split")


class ConvertError(ValueError):
    """The record has no shape intone knows how to convert; the message says what was found."""


def detect(data: Any) -> str:
    if not isinstance(data, dict):
        raise ConvertError("not a JSON object")
    if "messages" in data:
        return "messages"
    if "conversations" in data:
        return "sharegpt"
    if "prompt" in data and "completion" in data:
        return "prompt-completion"
    if "instruction" in data and "output" in data:
        return "alpaca"
    keys = ", ".join(sorted(data)) or "none"
    raise ConvertError(
        f"unknown record shape (keys: {keys}); expected messages, conversations, "
        "prompt+completion or instruction+output"
    )


@dataclass
class Converted:
    """What `convert_lines` made of a file: the records, and every line it could not convert."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line number, why) for each line not converted, in file order."""


def convert_lines(lines: Iterable[Line]) -> Converted:
    """Convert each non-blank line; a line that does not parse, has no known shape, or converts to
    a record that fails the schema is skipped with its reason. Nothing is passed through unchecked."""
    from intone.schemas.jsonl import validate_line

    out = Converted()
    for line in lines:
        if line.blank:
            continue
        if line.data is None or not isinstance(line.data, dict):
            out.skipped.append((line.number, line.problems[-1].message if line.problems else "not a JSON object"))
            continue
        try:
            record = to_messages(line.data)
        except ConvertError as exc:
            out.skipped.append((line.number, str(exc)))
            continue
        check = type(line)(number=line.number, raw=b"", ending=b"", data=record)
        validate_line(check)
        if check.problems:
            out.skipped.append((line.number, "; ".join(p.message for p in check.problems)))
            continue
        out.records.append(record)
    return out


def to_messages(data: Any) -> dict[str, Any]:
    """Convert one record; metadata keys (id, tags, notes, split) are carried over."""
    kind = detect(data)
    if kind == "messages":
        return data
    meta = {k: data[k] for k in _META if k in data}
    if kind == "prompt-completion":
        messages = [_msg("user", data["prompt"], "prompt"), _msg("assistant", data["completion"], "completion")]
        if isinstance(data.get("system"), str):
            messages.insert(0, _msg("system", data["system"], "system"))
    elif kind == "alpaca":
        prompt = _text(data["instruction"], "instruction")
        extra = data.get("input")
        if isinstance(extra, str) and extra.strip():
            prompt = f"{prompt}\n\n{extra}"
        messages = [_msg("user", prompt, "instruction"), _msg("assistant", data["output"], "output")]
    else:
        turns = data["conversations"]
        if not isinstance(turns, list):
            raise ConvertError("conversations: expected a list")
        messages = []
        for i, turn in enumerate(turns):
            if not isinstance(turn, dict):
                raise ConvertError(f"conversations[{i}]: expected an object with from/value")
            speaker = turn.get("from", turn.get("role"))
            role = SHAREGPT_ROLES.get(str(speaker).lower()) if speaker is not None else None
            if role is None:
                raise ConvertError(f"conversations[{i}].from: unknown speaker {speaker!r}")
            messages.append(_msg(role, turn.get("value", turn.get("content")), f"conversations[{i}].value"))
        if isinstance(data.get("system"), str) and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, _msg("system", data["system"], "system"))
    return {"messages": messages, **meta}


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConvertError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _msg(role: str, value: Any, where: str) -> dict[str, str]:
    return {"role": role, "content": _text(value, where)}
