"""What the JSONL reader can find wrong with a line, and the messages for schema errors.

Each problem names the field it is in (a JSON path such as `messages[2].role`) and, where the
raw bytes show it, the column, so a report can point at the exact place to fix."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from intone.schemas.locate import locate_field
from intone.schemas.shape import render_loc

if TYPE_CHECKING:
    from pydantic import ValidationError


class Problem(StrEnum):
    """What the reader can find wrong with a line. Each member is reported by exactly one lint
    rule (its `problem`), which the registry checks; the value is that rule's name."""

    INVALID_JSON = "invalid-json"
    INVALID_UTF8 = "invalid-utf8"
    NOT_AN_OBJECT = "not-an-object"
    BLANK_LINE = "blank-line"
    BYTE_ORDER_MARK = "byte-order-mark"
    CRLF_LINE_ENDING = "crlf-line-ending"
    SCHEMA_ERROR = "schema-error"
    UNKNOWN_ROLE = "unknown-role"


@dataclass(slots=True)
class ReadProblem:
    """Something wrong with one line; `name` is the kind, reported by the rule of that problem."""

    name: Problem
    message: str
    column: int | None = None
    field: str | None = None
    shape: str | None = None
    """For a record in another shape that `intone convert` reads (e.g. "question-answer")."""


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


_TYPE_WORDS = {
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
    "int_type": "an integer",
}


def schema_problems(exc: ValidationError, raw: bytes) -> list[ReadProblem]:
    problems: list[ReadProblem] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.endswith("]")))
        # Union members (id: str | int) add their own loc segment; keep the field path only.
        loc = tuple(p for p in loc if p not in ("str", "int", "list[str]", "Message", "function-after"))
        path = render_loc(loc) or "record"
        if path in seen:
            continue
        seen.add(path)
        kind = err["type"]
        got = err.get("input")
        column = locate_field(raw, loc)
        if kind == "literal_error" and loc and loc[-1] == "role":
            problems.append(
                ReadProblem(
                    Problem.UNKNOWN_ROLE,
                    f"{path}: unknown role {got!r}; use one of system, user, assistant",
                    field=path,
                    column=column,
                )
            )
        elif kind == "missing":
            problems.append(
                ReadProblem(
                    Problem.SCHEMA_ERROR, f"{path}: required field is missing", field=path, column=column
                )
            )
        elif kind in _TYPE_WORDS or kind.endswith("_type") or kind == "int_from_float":
            want = _TYPE_WORDS.get(kind, kind.removesuffix("_type"))
            problems.append(
                ReadProblem(
                    Problem.SCHEMA_ERROR,
                    f"{path}: expected {want}, got {json_type(got)} {_short(got)}",
                    field=path,
                    column=column,
                )
            )
        else:
            problems.append(
                ReadProblem(Problem.SCHEMA_ERROR, f"{path}: {err['msg']}", field=path, column=column)
            )
    return problems


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested deeper than json can encode
        return f"(nested {json_type(value)})"
    return text if len(text) <= 40 else text[:37] + "..."
