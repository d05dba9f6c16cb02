"""probe.jsonl: the replies `intone probe` wrote, read with a problem per bad line, and the
cut-offs the probe judged them by (summary.json).

`DIR/probe.jsonl` holds one reply per line (see `ProbeReply`). A line that is not a reply is
reported as `file:line: what is wrong` and skipped; the other lines are still read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from intone.errors import UsageError
from intone.schemas.shape import render_loc

PROBE_FILE = "probe.jsonl"
SUMMARY_FILE = "summary.json"


class _Loose(BaseModel):
    # Unknown keys may appear (a newer probe); they are kept, never an error.
    model_config = ConfigDict(extra="allow", frozen=True)


class ProbeMessage(_Loose):
    """One turn of the prompt conversation."""

    role: Literal["system", "user", "assistant"]
    """Who speaks."""
    content: StrictStr
    """The turn's text."""


class Finding(_Loose):
    """A voice rule's finding on the reply."""

    code: str = ""
    """The rule's code, e.g. IN301."""
    name: str = ""
    """The rule's name, e.g. assistant-boilerplate."""
    message: str = ""
    """What the rule found in this reply, with its evidence."""


class Copy(_Loose):
    """The reply's largest overlap with any training answer (a memorised copy)."""

    overlap: float = 0.0
    """0-1."""
    line: int | None = None
    """The training file line of that answer."""


class Nearest(_Loose):
    """A training answer near the reply."""

    line: int | None = None
    """Its line in the training file."""
    overlap: float = 0.0
    """Its overlap with the reply, 0-1."""
    answer: str = ""
    """Its text."""


class Expect(_Loose):
    """The prompt's `expect` checks on this reply."""

    passed: bool | None = None
    """Whether every check passed; None when the prompt had none."""
    failed: list[str] = Field(default_factory=list)
    """The checks that failed, in words."""

    @model_validator(mode="before")
    @classmethod
    def _null_means_none_failed(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("failed", 0) is None:
            return {k: v for k, v in data.items() if k != "failed"}
        return data


_NULL_MEANS_DEFAULT = frozenset({"findings", "nearest", "setting", "source", "setting_id", "sample"})


class ProbeReply(_Loose):
    """One generated reply and its measures, as `intone probe` writes it. Only `id`, `messages`
    and `reply` are required; a missing or null measure is None (or empty)."""

    id: StrictStr
    """Unique in the file: p{prompt_index}-{setting_id}-{source}-s{sample}."""
    messages: list[ProbeMessage] = Field(min_length=1)
    """The prompt conversation; it ends with a user turn."""
    reply: StrictStr
    """What the model said."""
    prompt_index: int | None = None
    """Which prompt (0-based, in prompt-file order)."""
    where: str | None = None
    """The prompt's file:line."""
    reference: str | None = None
    """The prompt file's reference answer, when it has one."""
    source: StrictStr = "tuned"
    """"tuned" (the run), "base" (the base model) or "compare" (the --compare run)."""
    run: str | None = None
    """The run folder the reply came from."""
    setting_id: StrictStr = "default"
    """Names the generation setting, e.g. "t0.6-rp1.15"."""
    setting: dict[str, Any] = Field(default_factory=dict)
    """The generation setting itself (temperature, repetition penalty, ...)."""
    sample: int = 0
    """Which of the samples per prompt and setting."""
    seed: int | None = None
    """The sampling seed."""
    tokens: int | None = None
    """Tokens generated."""
    words: int | None = None
    """Words in the reply."""
    stopped: bool | None = None
    """Whether it ended with the end-of-turn token (False: it hit the token limit)."""
    loop_share: float | None = None
    """Share of repeated word 4-grams (loops)."""
    distinct2: float | None = None
    """Distinct word bigrams over all bigrams."""
    voice_distance: float | None = None
    """Distance of the reply's style features from the training set's profile."""
    findings: list[Finding] = Field(default_factory=list)
    """Voice rules' findings on the reply."""
    copy_: Copy | None = Field(default=None, alias="copy")
    """The closest training answer as an overlap ("copy" in the file)."""
    nearest: list[Nearest] = Field(default_factory=list)
    """The training answers nearest to the reply."""
    expect: Expect | None = None
    """The prompt's `expect` checks."""

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(k, 0) is None for k in _NULL_MEANS_DEFAULT):
            return {k: v for k, v in data.items() if not (v is None and k in _NULL_MEANS_DEFAULT)}
        return data

    @property
    def prompt(self) -> str:
        """The last user turn: what the reply answers."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


REPLY_ADAPTER: TypeAdapter[ProbeReply] = TypeAdapter(ProbeReply)


def reply_digest(text: str) -> str:
    """First 16 hex digits of the sha256 of a reply's text (UTF-8): what a judgement judged."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class ProbeFile:
    """The readable replies of one probe.jsonl and a `file:line: ...` message per skipped line."""

    path: Path
    replies: list[ProbeReply] = field(default_factory=list)
    """In file order."""
    problems: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, ProbeReply]:
        return {r.id: r for r in self.replies}


_MESSAGES = {
    "missing": "is missing",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "literal_error": "must be one of system, user, assistant",
    "too_short": "must not be empty",
}


def _schema_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        loc = render_loc(tuple("copy" if p == "copy_" else p for p in error["loc"])) or "the line"
        parts.append(f"{loc} {_MESSAGES.get(error['type'], error['msg'])}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def probe_file(folder: str | os.PathLike[str]) -> Path:
    """`folder/probe.jsonl`; a path to a probe.jsonl itself is accepted too. UsageError otherwise."""
    path = Path(folder)
    if path.is_file() and path.name == PROBE_FILE:
        return path
    if not path.exists():
        raise UsageError(f"{path}: no such folder; give the folder `intone probe --out` wrote")
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder; give the folder `intone probe --out` wrote")
    target = path / PROBE_FILE
    if not target.is_file():
        raise UsageError(
            f"{path}: no {PROBE_FILE} in this folder; run `intone probe RUN_DIR --out {path}` first"
        )
    return target


def read_probe(folder: str | os.PathLike[str]) -> ProbeFile:
    """Read a probe folder's replies. UsageError when there is no probe.jsonl or it cannot be read;
    a bad line becomes a problem (`probe.jsonl:7: reply must be text`) and is skipped."""
    path = probe_file(folder)
    out = ProbeFile(path)
    seen: dict[str, int] = {}
    try:
        for number, value, problem in json_lines(path):
            if problem is None:
                reply, problem = _reply(value)
                if reply is not None and reply.id in seen:
                    problem = f"id {reply.id!r} is already on line {seen[reply.id]}; this line is skipped"
                elif reply is not None:
                    seen[reply.id] = number
                    out.replies.append(reply)
            if problem is not None:
                out.problems.append(f"{path}:{number}: {problem}")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return out


def _reply(value: Any) -> tuple[ProbeReply | None, str | None]:
    try:
        reply = REPLY_ADAPTER.validate_python(value)
    except ValidationError as exc:
        return None, _schema_message(exc)
    roles = [m.role for m in reply.messages]
    if roles[-1] != "user":
        return None, f"messages must end with a user turn (the prompt), not {roles[-1]}"
    return reply, None


def json_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, JSON object, None) or (line number, None, problem); blank lines skipped."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 (byte {exc.start + 1})"
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:
                cut = "" if raw.endswith(b"\n") else " (the line is cut off: was the write interrupted?)"
                yield number, None, f"not valid JSON: {getattr(exc, 'msg', exc)}{cut}"
                continue
            if not isinstance(value, dict):
                yield number, None, f"must be a JSON object, not {type(value).__name__}"
                continue
            yield number, value, None


@dataclass(frozen=True)
class Thresholds:
    """The cut-offs the probe judged its replies by, from DIR/summary.json's `thresholds`
    (written by `intone probe`); the defaults are its defaults, for a folder without one."""

    loop_share: float = 0.2
    """A reply with this share of repeated word 4-grams or more loops."""
    copy_overlap: float = 0.6
    """The overlap at which the probe calls a reply a copy of a training answer."""
    voice_flag: float | None = None
    """Voice distance at which a reply is off the training voice (the training p90), if known."""


def read_thresholds(folder: str | os.PathLike[str]) -> Thresholds:
    """DIR/summary.json's thresholds; a missing or unreadable file or key gives the defaults."""
    try:
        data = json.loads((Path(folder) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Thresholds()
    table = data.get("thresholds") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return Thresholds()
    number = lambda key: (
        float(table[key])
        if isinstance(table.get(key), (int, float))
        and not isinstance(table[key], bool)
        and math.isfinite(table[key])
        else None
    )
    default = Thresholds()
    loop, copy = number("loop_share"), number("copy_overlap")
    return Thresholds(
        default.loop_share if loop is None else loop,
        default.copy_overlap if copy is None else copy,
        number("voice_flag"),
    )
