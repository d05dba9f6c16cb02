"""What a record is, and how JSONL bytes become records. Depends on nothing else in intone.

`Conversation` and `Message` (pydantic) load on first access, so that reading and writing JSONL
does not pay for pydantic until a record is validated.
"""

from typing import Any

from intone.schemas.jsonl import (
    Line,
    dump_record,
    line_bytes,
    read_jsonl,
    read_jsonl_bytes,
    read_jsonl_path,
    validate_line,
    write_jsonl_atomic,
)
from intone.schemas.problems import ReadProblem


def __getattr__(name: str) -> Any:
    if name in ("Conversation", "Message"):
        from intone.schemas import record

        return getattr(record, name)
    raise AttributeError(f"module 'intone.schemas' has no attribute {name!r}")


__all__ = [
    "Conversation",
    "Line",
    "Message",
    "ReadProblem",
    "dump_record",
    "line_bytes",
    "read_jsonl",
    "read_jsonl_bytes",
    "read_jsonl_path",
    "validate_line",
    "write_jsonl_atomic",
]
