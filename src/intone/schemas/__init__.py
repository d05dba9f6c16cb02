"""What a record is, and how JSONL bytes become records. Depends on nothing else in intone."""

from intone.schemas.jsonl import (
    Line,
    ReadProblem,
    dump_record,
    line_bytes,
    read_jsonl,
    read_jsonl_bytes,
    read_jsonl_path,
    write_jsonl_atomic,
)
from intone.schemas.record import Conversation, Message

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
    "write_jsonl_atomic",
]
