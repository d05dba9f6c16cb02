"""Import the record shapes people have into the chat `messages` format.

Shapes recognised (keys matched case-insensitively): `messages` (kept, validated), ShareGPT
`conversations`, `prompt`+`completion`, Alpaca `instruction`(+`input`)+`output`, and the
single-turn pairs `input`+`output`, `question`+`answer`, `prompt`+`response` and
`query`+`response`. `--map user=FIELD,assistant=FIELD[,system=FIELD]` names the fields of any
other pair. Input is JSONL, a JSON array, or CSV with a header row.

Legacy prompt/completion leftovers (the `\\n\\n###\\n\\n` separator, a trailing `###` or ` END`
stop word, the leading space of a completion) are counted and reported; `strip=True` removes them.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
# Single-turn pairs: (shape name, user field, assistant field), tried in this order after the
# shapes with their own structure (Alpaca's instruction+input+output comes before input+output).
PAIRS = (
    ("prompt-completion", "prompt", "completion"),
    ("alpaca", "instruction", "output"),
    ("input-output", "input", "output"),
    ("question-answer", "question", "answer"),
    ("prompt-response", "prompt", "response"),
    ("query-response", "query", "response"),
)
SEPARATOR = "\n\n###\n\n"


class ConvertError(ValueError):
    """The record has no shape intone knows how to convert; the message says what was found."""


def _keys(data: dict[str, Any]) -> dict[str, str]:
    """Lower-cased key -> the key as written."""
    return {k.lower(): k for k in data if isinstance(k, str)}


def detect(data: Any) -> str:
    """The shape of one record (see the module docstring), or ConvertError saying what was found."""
    if not isinstance(data, dict):
        raise ConvertError("not a JSON object")
    keys = _keys(data)
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    for name, user, assistant in PAIRS:
        if user in keys and assistant in keys:
            return name
    shown = ", ".join(sorted(data)) or "none"
    raise ConvertError(
        f"unknown record shape (keys: {shown}); expected messages, conversations, prompt+completion, "
        "instruction+output, input+output, question+answer, prompt/query+response, or name the fields "
        "with --map user=FIELD,assistant=FIELD"
    )


def shape_hint(data: Any) -> str | None:
    """For a record that is not in the messages format but in a shape `convert` reads: its name."""
    try:
        shape = detect(data)
    except ConvertError:
        return None
    return None if shape == "messages" else shape


@dataclass
class Leftovers:
    """Prompt/completion leftovers seen while converting (and removed when stripping)."""

    counts: Counter[str] = field(default_factory=Counter)

    def describe(self) -> list[str]:
        names = {
            "separator": 'prompts end with the separator "\\n\\n###\\n\\n"',
            "trailing-hashes": 'answers end with "###"',
            "trailing-end": 'answers end with the stop word " END"',
            "leading-space": "answers start with a space",
        }
        return [f"{n} {names[k]}" for k, n in self.counts.items() if n]


def clean_prompt(text: str, leftovers: Leftovers, strip: bool) -> str:
    if text.endswith(SEPARATOR) or text.rstrip().endswith("###"):
        leftovers.counts["separator"] += 1
        if strip:
            text = text.rstrip()
            text = text[: -len("###")].rstrip() if text.endswith("###") else text
    return text


def clean_answer(text: str, leftovers: Leftovers, strip: bool) -> str:
    if text.startswith(" ") and text.strip():
        leftovers.counts["leading-space"] += 1
        if strip:
            text = text.lstrip(" ")
    tail = text.rstrip()
    if tail.endswith("###"):
        leftovers.counts["trailing-hashes"] += 1
        if strip:
            text = tail[: -len("###")].rstrip()
    elif tail.endswith(" END") or tail == "END":
        leftovers.counts["trailing-end"] += 1
        if strip:
            text = tail[: -len("END")].rstrip()
    return text


@dataclass
class FieldMap:
    """`--map user=FIELD,assistant=FIELD[,system=FIELD]`."""

    user: str
    assistant: str
    system: str | None = None

    @classmethod
    def parse(cls, text: str) -> FieldMap:
        pairs: dict[str, str] = {}
        for part in text.split(","):
            role, sep, name = part.partition("=")
            role, name = role.strip(), name.strip()
            if not sep or not name or role not in ("user", "assistant", "system"):
                raise ValueError(f"{part.strip()!r}: write role=FIELD with role user, assistant or system")
            if role in pairs:
                raise ValueError(f"{role} is mapped twice")
            pairs[role] = name
        if "user" not in pairs or "assistant" not in pairs:
            raise ValueError("map both user=FIELD and assistant=FIELD")
        return cls(pairs["user"], pairs["assistant"], pairs.get("system"))

    def fields(self) -> list[str]:
        return [f for f in (self.user, self.assistant, self.system) if f]


def to_messages(
    data: Any, *, mapping: FieldMap | None = None, leftovers: Leftovers | None = None, strip: bool = False
) -> dict[str, Any]:
    """Convert one record; metadata keys (id, tags, notes, split) are carried over."""
    leftovers = leftovers if leftovers is not None else Leftovers()
    if mapping is not None:
        if not isinstance(data, dict):
            raise ConvertError("not a JSON object")
        for name in mapping.fields():
            if name not in data:
                raise ConvertError(f"no field {name!r} (keys: {', '.join(sorted(map(str, data))) or 'none'})")
        messages = [
            _msg("user", clean_prompt(_text(data[mapping.user], mapping.user), leftovers, strip), mapping.user),
            _msg("assistant", clean_answer(_text(data[mapping.assistant], mapping.assistant), leftovers, strip),
                 mapping.assistant),
        ]
        if mapping.system:
            messages.insert(0, _msg("system", data[mapping.system], mapping.system))
        return {"messages": messages, **{k: data[k] for k in _META if k in data}}
    kind = detect(data)
    if kind == "messages":
        return data
    keys = _keys(data)
    meta = {k: data[keys[k]] for k in _META if k in keys}
    if kind == "sharegpt":
        messages = _sharegpt(data[keys["conversations"]])
        system = data.get(keys.get("system", ""))
        if isinstance(system, str) and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, _msg("system", system, "system"))
        return {"messages": messages, **meta}
    _, user_key, assistant_key = next(p for p in PAIRS if p[0] == kind)
    prompt = _text(data[keys[user_key]], keys[user_key])
    if kind == "alpaca":
        extra = data.get(keys.get("input", ""))
        if isinstance(extra, str) and extra.strip():
            prompt = f"{prompt}\n\n{extra}"
    answer = _text(data[keys[assistant_key]], keys[assistant_key])
    messages = [
        _msg("user", clean_prompt(prompt, leftovers, strip), keys[user_key]),
        _msg("assistant", clean_answer(answer, leftovers, strip), keys[assistant_key]),
    ]
    system = data.get(keys.get("system", ""))
    if isinstance(system, str):
        messages.insert(0, _msg("system", system, "system"))
    return {"messages": messages, **meta}


def _sharegpt(turns: Any) -> list[dict[str, str]]:
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
    return messages


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConvertError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _msg(role: str, value: Any, where: str) -> dict[str, str]:
    return {"role": role, "content": _text(value, where)}


# ----------------------------------------------------------------------------- reading inputs


@dataclass
class Item:
    """One input record: where it is (a line, or a record number of a JSON array / CSV row)."""

    where: str
    number: int
    data: Any = None
    problem: str | None = None


def read_items(path: Path) -> Iterator[Item]:
    """JSONL by default; a JSON array when the file starts with `[`; CSV (header row) for `.csv`."""
    if path.suffix.lower() in (".csv", ".tsv"):
        yield from _read_csv(path, "\t" if path.suffix.lower() == ".tsv" else ",")
        return
    with open(path, "rb") as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        yield from _read_array(path)
        return
    from intone.schemas.jsonl import read_jsonl_path

    for line in read_jsonl_path(path, validate=False):
        if line.blank:
            continue
        problem = None if line.data is not None else (line.problems[-1].message if line.problems else "unreadable")
        yield Item("line", line.number, line.data, problem)


def _read_array(path: Path) -> Iterator[Item]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        yield Item("record", 1, None, f"not a readable JSON array ({exc})")
        return
    if not isinstance(data, list):
        yield Item("record", 1, None, "the file is JSON but not an array of records")
        return
    for number, value in enumerate(data, start=1):
        yield Item("record", number, value)


def _read_csv(path: Path, delimiter: str) -> Iterator[Item]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Item("line", 1, None, f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at {exc.start}); save it as UTF-8")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        yield Item("line", 1, None, "no header row")
        return
    start = 2
    for row in reader:
        if None in row:  # more cells than the header has names
            yield Item("line", start, None, f"{len(row[None]) + len(reader.fieldnames)} cells, header has "
                                             f"{len(reader.fieldnames)}")
        elif any(v is None for v in row.values()):
            yield Item("line", start, None, "fewer cells than the header has names")
        elif any(v.strip() for v in row.values()):
            yield Item("line", start, dict(row))
        start = reader.line_num + 1


@dataclass
class Converted:
    """What `convert_items` made of a file: the records, and every input it could not convert."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)
    """(line or record, number, why) for each input not converted, in order."""
    leftovers: Leftovers = field(default_factory=Leftovers)
    shapes: Counter[str] = field(default_factory=Counter)


def convert_items(items: Iterable[Item], *, mapping: FieldMap | None = None, strip: bool = False) -> Converted:
    """Convert each input; one that does not parse, has no known shape, or converts to a record
    that fails the schema is skipped with its reason. Nothing is passed through unchecked."""
    from intone.schemas.jsonl import Line, validate_line

    out = Converted()
    for item in items:
        if item.problem is not None or not isinstance(item.data, dict):
            out.skipped.append((item.where, item.number, item.problem or "not a JSON object"))
            continue
        try:
            record = to_messages(item.data, mapping=mapping, leftovers=out.leftovers, strip=strip)
        except ConvertError as exc:
            out.skipped.append((item.where, item.number, str(exc)))
            continue
        check = Line(number=item.number, raw=b"", ending=b"", data=record)
        validate_line(check)
        if check.problems:
            out.skipped.append((item.where, item.number, "; ".join(p.message for p in check.problems)))
            continue
        out.shapes["map" if mapping else detect(item.data)] += 1
        out.records.append(record)
    return out
