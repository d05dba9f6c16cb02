"""Streaming JSONL reader (bytes -> one `Line` per physical line) and an atomic writer.

The reader never raises on bad input: every problem becomes a `ReadProblem` on its own
line and reading goes on. Memory stays bounded by the longest line, since lines are
yielded one at a time.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from intone.schemas.problems import Problem, ReadProblem, json_type, schema_problems
from intone.schemas.shape import KNOWN_MESSAGE_KEYS, Record, Turn, plain_record

BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class Line:
    """One physical line of a JSONL file: its bytes, what they parsed to, and what was wrong."""

    number: int
    raw: bytes
    """The line's bytes without its terminator (and without a leading BOM)."""
    ending: bytes
    """b"\\n", b"\\r\\n", or b"" for a last line with no newline."""
    data: Any = None
    """The parsed JSON value, or None when the line is not valid JSON."""
    record: Record | None = None
    """The validated record (the pydantic `Conversation`'s fields in plain objects), or None
    when the line has parse or schema problems (or was read with `validate=False` and not yet
    passed to `validate_line`)."""
    problems: list[ReadProblem] = field(default_factory=list)
    bom: bool = False

    @property
    def blank(self) -> bool:
        return not self.raw.strip()


def read_jsonl(stream: BinaryIO, *, validate: bool = True, first_line: int = 1) -> Iterator[Line]:
    """Yield one `Line` per physical line of a binary stream.

    With `validate=False` lines are parsed but not checked against the schema (pydantic is not
    even imported); call `validate_line` on each before trusting `record` or `problems`.
    `first_line` numbers a stream that starts inside a file (a BOM counts only on line 1)."""
    crlf_reported = False
    for number, chunk in enumerate(stream, start=first_line):
        raw, ending = _split_ending(chunk)
        line = Line(number=number, raw=raw, ending=ending)
        if number == 1 and raw.startswith(BOM):
            line.raw = raw = raw[len(BOM) :]
            line.bom = True
            line.problems.append(
                ReadProblem(Problem.BYTE_ORDER_MARK, "file starts with a UTF-8 byte-order mark (BOM)", 1)
            )
        if ending == b"\r\n" and not crlf_reported:
            crlf_reported = True
            line.problems.append(
                ReadProblem(
                    Problem.CRLF_LINE_ENDING,
                    "line ends with CRLF; JSONL lines end with LF (reported once per file)",
                )
            )
        if not raw.strip():
            line.problems.append(ReadProblem(Problem.BLANK_LINE, "blank line between records"))
            yield line
            continue
        _parse_into(line)
        if validate:
            validate_line(line)
        yield line


def read_jsonl_bytes(data: bytes, *, validate: bool = True) -> Iterator[Line]:
    return read_jsonl(io.BytesIO(data), validate=validate)


def read_jsonl_path(path: str | os.PathLike[str], *, validate: bool = True) -> Iterator[Line]:
    with open(path, "rb", buffering=1 << 20) as stream:
        yield from read_jsonl(stream, validate=validate)


def _split_ending(chunk: bytes) -> tuple[bytes, bytes]:
    if chunk.endswith(b"\r\n"):
        return chunk[:-2], b"\r\n"
    if chunk.endswith(b"\n"):
        return chunk[:-1], b"\n"
    return chunk, b""


def _parse_into(line: Line) -> None:
    raw = line.raw
    try:
        data = orjson.loads(raw)
        exact = not _may_hold_big_int(raw)
    except orjson.JSONDecodeError:
        exact = False
    if not exact:
        data = _parse_slow(line)
        if line.problems and line.problems[-1].name in (Problem.INVALID_JSON, Problem.INVALID_UTF8):
            return
    line.data = data
    if not isinstance(data, dict):
        line.problems.append(
            ReadProblem(
                Problem.NOT_AN_OBJECT,
                f"line is a JSON {json_type(data)}, not an object with a `messages` list",
                1,
            )
        )
        return


_adapter: Any = None
_validation_error: type[Exception] | None = None


def _load_schema() -> tuple[Any, type[Exception]]:
    """The pydantic adapter, imported on first use so that parsing alone stays light."""
    global _adapter, _validation_error
    if _adapter is None:
        from pydantic import ValidationError

        from intone.schemas.record import CONVERSATION_ADAPTER

        _adapter, _validation_error = CONVERSATION_ADAPTER, ValidationError
    return _adapter, _validation_error  # type: ignore[return-value]


def validate_line(line: Line) -> None:
    """Check a parsed JSON object against the schema: sets `record`, or adds the schema problems.

    Call it once per line read with `validate=False`; lines that did not parse to an object are
    left as they are (their problems are already known)."""
    if not isinstance(line.data, dict) or line.record is not None:
        return
    line.record = plain_record(line.data)
    if line.record is not None:
        return
    adapter, validation_error = _load_schema()
    try:
        valid = adapter.validate_python(line.data)
        line.record = Record(
            [Turn(m.role, m.content) for m in valid.messages], valid.id, valid.tags, valid.notes, valid.split
        )
    except validation_error as exc:
        problems = schema_problems(exc, line.raw)  # type: ignore[arg-type]
        if "messages" not in line.data:
            from intone.schemas.convert import shape_hint

            shape = shape_hint(line.data)
            for problem in problems:
                problem.shape = shape
        line.problems.extend(problems)
    except (RecursionError, ValueError) as exc:  # absurdly nested input
        line.problems.append(ReadProblem(Problem.SCHEMA_ERROR, f"record could not be validated: {exc}"))


_NON_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19  # every integer outside 64 bits has at least 19 digits


def _may_hold_big_int(raw: bytes) -> bool:
    """orjson silently reads integers beyond 64 bits as floats; such lines take the exact parser."""
    return len(raw.translate(None, _NON_DIGITS)) >= 19 and _LONG_DIGIT_RUN in raw.translate(_DIGITS_AS_ZERO)


def _parse_slow(line: Line) -> Any:
    """orjson failed: find out why, with a column, using the standard library."""
    try:
        text = line.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line.problems.append(
            ReadProblem(
                Problem.INVALID_UTF8,
                f"invalid UTF-8 byte 0x{line.raw[exc.start]:02x} at byte {exc.start + 1}",
                exc.start + 1,
            )
        )
        return None
    try:
        data = json.loads(text)  # exact where orjson is not: integers over 64 bits
    except json.JSONDecodeError as exc:
        line.problems.append(ReadProblem(Problem.INVALID_JSON, f"{exc.msg} (column {exc.colno})", exc.colno))
        return None
    except RecursionError:
        line.problems.append(ReadProblem(Problem.INVALID_JSON, "JSON nested too deeply", 1))
        return None
    except ValueError:  # an integer longer than Python's int-to-str limit (4300 digits)
        found = _HUGE_INT.search(text)
        column = found.start() + 1 if found else 1
        digits = len(found.group()) if found else 0
        line.problems.append(
            ReadProblem(
                Problem.INVALID_JSON,
                f"a number with {digits} digits at column {column} is too long to read; "
                f"integers may have at most {_MAX_INT_DIGITS} digits: shorten it or write it as a string",
                column,
            )
        )
        return None
    surrogate = _lone_surrogate(data)
    if surrogate is not None:  # json accepts "\ud800"; such a string cannot be encoded or trained on
        first = _LONE_SURROGATE_ESCAPE.search(text)
        if first is not None:  # the leftmost one, whichever order the value was walked in
            surrogate = first.group().lower()
        column = first.start() + 1 if first else (text.lower().find(surrogate) + 1 or 1)
        line.problems.append(
            ReadProblem(
                Problem.INVALID_JSON,
                f"string escape {surrogate} is a lone UTF-16 surrogate, not a character (column {column})",
                column,
            )
        )
        return None
    return data


_MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_HUGE_INT = re.compile(rf"\d{{{_MAX_INT_DIGITS + 1},}}")
# A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE_SURROGATE_ESCAPE = re.compile(
    r"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _lone_surrogate(value: Any) -> str | None:
    """The first unpaired surrogate in any string or key, as a `\\uXXXX` escape; None if none."""
    stack = [value]
    while stack:  # iterative: the value may be nested up to the recursion limit already
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"\\u{ord(item[exc.start]):04x}"
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# ----------------------------------------------------------------------------- writing


def dump_record(data: Any) -> bytes:
    """Serialize one record the way hand-written datasets usually look (Python's json style)."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def write_jsonl_atomic(path: str | os.PathLike[str], lines: Iterable[bytes | dict[str, Any]]) -> None:
    """Write lines to `path` atomically: temp file in the same folder, fsync, rename over.

    Each item is either the exact bytes of a line (its terminator included) or a record to
    serialize, which gets a LF terminator. Passing the original bytes of untouched lines keeps a
    clean file byte-identical.

    A symlink is written through: its target is replaced (atomically, in the target's folder)
    and the link stays a link, as DVC, git-annex and shared-data set-ups need. An OSError names
    `path`, never the temp file.
    """
    shown = Path(path)
    target = resolve_link(shown)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _naming(exc, shown) from None
    try:
        with os.fdopen(fd, "wb") as out:
            for item in lines:
                out.write(item if isinstance(item, bytes) else dump_record(item) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            os.chmod(tmp_name, target.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException as exc:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise _naming(exc, shown) from None
        raise
    _fsync_dir(folder)


def resolve_link(path: Path) -> Path:
    """The file a write to `path` must replace: `path` itself, or the end of its symlink chain.

    A dangling link resolves to where it points (the write creates that file); a loop is an
    OSError naming `path`."""
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    if real.is_symlink():  # realpath stops inside a loop
        raise OSError(errno.ELOOP, "symbolic link loop; point the link at a real file", str(path))
    return real


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error, naming the user's path instead of a temp file (or nothing)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def line_bytes(line: Line) -> bytes:
    """The exact original bytes of a line, terminator and BOM included."""
    return (BOM if line.bom else b"") + line.raw + line.ending


__all__ = [
    "BOM",
    "KNOWN_MESSAGE_KEYS",
    "Line",
    "dump_record",
    "line_bytes",
    "read_jsonl",
    "read_jsonl_bytes",
    "read_jsonl_path",
    "resolve_link",
    "validate_line",
    "write_jsonl_atomic",
]
