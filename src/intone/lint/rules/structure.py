"""Rules about the shape of each line and record: JSON, schema, roles and turn order."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from intone.lint.registry import LineRule, RecordRule, Rule
from intone.schemas.locate import locate_field
from intone.schemas.problems import Problem
from intone.schemas.shape import KNOWN_MESSAGE_KEYS, KNOWN_RECORD_KEYS

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.lint.edit import LineEdit
    from intone.schemas.jsonl import Line
    from intone.schemas.problems import ReadProblem


class InvalidJson(LineRule):
    """
    ## What it does
    Reports a line that is not valid JSON, with the column where parsing failed.

    ## Why is this bad?
    Trainers read JSONL line by line; most stop at the first broken line, some skip it silently,
    and either way the example is not trained.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "hi"}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    ```
    """

    code = "IN100"
    name = "invalid-json"
    problem = Problem.INVALID_JSON
    severity = "error"
    summary = "Line is not valid JSON"
    fix_hint = "Repair the JSON at the column shown: one complete JSON object per line."


class InvalidUtf8(LineRule):
    """
    ## What it does
    Reports a line containing bytes that are not valid UTF-8, with the byte offset.

    ## Why is this bad?
    JSON text must be UTF-8. Such bytes usually come from pasting text saved in another
    encoding (Windows-1252, Latin-1) and break tokenizers or get replaced by `�`.

    ## Example
    A line holding the byte `0xE9` where `é` was meant.

    ## Use instead
    Re-save the file as UTF-8, or retype the character.
    """

    code = "IN101"
    name = "invalid-utf8"
    problem = Problem.INVALID_UTF8
    severity = "error"
    summary = "Line is not valid UTF-8"
    fix_hint = "Re-save the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8`) or retype the character."


class NotAnObject(LineRule):
    """
    ## What it does
    Reports a line holding valid JSON that is not an object (an array, string, number or null).

    ## Why is this bad?
    Every record must be an object with a `messages` list; anything else cannot be trained on.

    ## Example
    ```json
    ["hi", "Ahoy!"]
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    ```
    """

    code = "IN102"
    name = "not-an-object"
    problem = Problem.NOT_AN_OBJECT
    severity = "error"
    summary = "Line is JSON but not an object"
    fix_hint = 'Wrap the example as {"messages": [...]}; `intone convert` imports other formats.'


class BlankLine(LineRule):
    """
    ## What it does
    Reports an empty or whitespace-only line.

    ## Why is this bad?
    Some loaders (the OpenAI uploader among them) reject a file with blank lines; others count
    them as records and fail later.

    ## Example
    Two records separated by an empty line.

    ## Use instead
    One record per line, with no empty lines. `intone lint --fix` removes them.
    """

    code = "IN103"
    name = "blank-line"
    problem = Problem.BLANK_LINE
    severity = "warning"
    summary = "Blank line between records"
    fix_hint = "Delete the line (`intone lint --fix` does it)."
    fixable = True

    def fix(self, edit: LineEdit) -> bool:
        if not edit.line.blank:
            return False
        edit.drop = True
        return True


class ByteOrderMark(LineRule):
    """
    ## What it does
    Reports a UTF-8 byte-order mark at the start of the file.

    ## Why is this bad?
    JSON forbids a BOM; Python's `json.loads` fails on the first line with it, and so do many
    trainers' loaders. Editors on Windows add it silently.

    ## Example
    A file starting with the bytes `EF BB BF`.

    ## Use instead
    Save as UTF-8 without BOM. `intone lint --fix` removes it.
    """

    code = "IN104"
    name = "byte-order-mark"
    problem = Problem.BYTE_ORDER_MARK
    severity = "warning"
    summary = "File starts with a UTF-8 byte-order mark"
    fix_hint = "Save as UTF-8 without BOM (`intone lint --fix` removes it)."
    fixable = True

    def fix(self, edit: LineEdit) -> bool:
        if not edit.bom:
            return False
        edit.bom = False
        return True


class CrlfLineEnding(LineRule):
    """
    ## What it does
    Reports CRLF (Windows) line endings, once per file, at the first such line.

    ## Why is this bad?
    Most loaders cope, but a stray `\\r` then ends up at the end of a raw line and diffs
    of the dataset become noisy.

    ## Example
    A file saved with Windows line endings.

    ## Use instead
    LF line endings. `intone lint --fix` converts every line it can read; a line that is not
    valid JSON is left byte for byte as it is, so while one of those ends with CRLF the finding
    says which and is not marked fixable.
    """

    code = "IN105"
    name = "crlf-line-ending"
    problem = Problem.CRLF_LINE_ENDING
    severity = "warning"
    summary = "Lines end with CRLF instead of LF"
    fix_hint = "Convert the file to LF line endings (`intone lint --fix` does it)."
    fixable = True

    def fix(self, edit: LineEdit) -> bool:
        if edit.ending != b"\r\n" or not edit.rewritable:
            return False
        # A \r before the CRLF is JSON whitespace; left there, it would make a new CRLF.
        edit.body, edit.ending = edit.body.rstrip(b"\r"), b"\n"
        return True

    def not_fixable(self, found: Diagnostic, lines: list[int]) -> Diagnostic:
        """The finding when --fix cannot convert every CRLF line: it leaves `lines` (not valid
        JSON) byte for byte as they are, so the finding would come back after every --fix."""
        shown = ", ".join(map(str, lines[:8])) + (", ..." if len(lines) > 8 else "")
        which = f"lines {shown} as they are" if len(lines) > 1 else f"line {shown} as it is"
        return replace(
            found,
            fixable=False,
            message=f"{found.message}; --fix leaves {which} (not valid JSON)",
            fix="Repair the lines that are not valid JSON, then run `intone lint --fix`; or convert the "
            "whole file with `dos2unix`.",
            related=tuple(n for n in lines[:50] if n != found.line),
        )


class UnreadableFile(Rule):
    """
    ## What it does
    Reports a `*.jsonl` entry, found while searching a folder, that cannot be read: a symbolic
    link to a file that does not exist, a folder named like a JSONL file with no `.jsonl` file
    inside, a file without read permission, a folder that cannot be listed. The rest of the
    folder is still linted. Named pipes and devices are skipped with a warning, never opened.

    This finding is always reported, whatever `select` and `ignore` say: a file that was not
    read was not checked, and a clean result would claim it was.

    ## Why is this bad?
    The trainer will find the same entry, and fail on it or train without it. Usually the link
    or the permissions are a mistake left by a copy or a checkout.

    ## Example
    `data/train.jsonl -> /mnt/old/train.jsonl`, after `/mnt/old` was removed.

    ## Use instead
    Point the link at the dataset, fix the permissions, or move the entry out of the folder.
    """

    code = "IN106"
    name = "unreadable-file"
    severity = "error"
    summary = "A .jsonl entry in a folder cannot be read"
    fix_hint = "Make it readable, or move it out of the folder."

    def for_error(self, path: str, exc: OSError) -> Diagnostic:
        """The finding for `path`, which could not be opened, listed or read (`exc`)."""
        message, fix = _describe_unreadable(path, exc)
        return self.diagnostic(path, None, message, fix=fix)


def _describe_unreadable(path: str, exc: OSError) -> tuple[str, str]:
    reason = exc.strerror or str(exc)
    if os.path.islink(path) and not os.path.exists(path):
        if exc.errno == errno.ELOOP:
            return (
                "symbolic link loop: it never reaches a file",
                "Point the link at the dataset, or delete it.",
            )
        target = os.readlink(path)
        return (
            f"symbolic link to {target}, which does not exist",
            "Point the link at the dataset, or delete the link.",
        )
    if os.path.isdir(path):
        if exc.errno == errno.EISDIR:
            return (
                "is a folder, not a JSONL file, and nothing in it was linted",
                "Rename the folder, or convert what is inside it to .jsonl files.",
            )
        return f"folder cannot be listed: {reason}", "Give your user access to the folder, or move it out."
    if exc.errno == errno.ENOENT:
        return "disappeared before it could be read", "Run intone again once the file is in place."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot be read: {reason}", "Give your user read permission (chmod u+r), or move it out."
    return f"cannot be read: {reason}", "Check the file and the disk it is on, or move it out of the folder."


class SchemaError(LineRule):
    """
    ## What it does
    Reports a record whose fields are missing or of the wrong type, with the field path,
    e.g. `messages[2].content: expected a string, got number 3`.

    ## Why is this bad?
    A trainer either crashes on such a record or, worse, stringifies it and trains on `3`.

    ## Example
    ```json
    {"messages": [{"role": "user"}, {"role": "assistant", "content": 3}]}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "Count!"}, {"role": "assistant", "content": "3"}]}
    ```
    """

    code = "IN200"
    name = "schema-error"
    problem = Problem.SCHEMA_ERROR
    severity = "error"
    summary = "Missing or mistyped field"
    fix_hint = (
        'A record is {"messages": [{"role": ..., "content": "..."}]} with optional '
        "id, tags, notes, split; correct the field named."
    )

    def from_problem(self, path: str, line: int, problem: ReadProblem) -> Diagnostic:
        found = self.diagnostic(path, line, problem.message, column=problem.column)
        if problem.shape is None:
            return found
        out = f"{path.removesuffix('.jsonl')}.messages.jsonl"
        return replace(found, fix=(
            f"These are {problem.shape} records, not chat messages: convert the file with "
            f"`intone convert {path} {out}` (see `intone convert --help`)."
        ))


class UnknownRole(LineRule):
    """
    ## What it does
    Reports a message whose role is not `system`, `user` or `assistant`.

    ## Why is this bad?
    Chat templates know only these roles; `bot` or `human` either crash the template or are
    rendered as something the model never sees at inference time.

    ## Example
    ```json
    {"messages": [{"role": "human", "content": "hi"}, {"role": "bot", "content": "Ahoy!"}]}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    ```
    """

    code = "IN201"
    name = "unknown-role"
    problem = Problem.UNKNOWN_ROLE
    severity = "error"
    summary = "Message role is not system, user or assistant"
    fix_hint = "Use role user for the person, assistant for the character, system for instructions."


class UnknownKey(RecordRule):
    """
    ## What it does
    Warns about keys intone does not know, on the record or on a message.

    ## Why is this bad?
    Usually a typo (`mesages`, `contnet`, `tag`) whose data is then ignored by the trainer.
    Unknown keys are kept when intone writes the file; this is only a warning.

    ## Example
    ```json
    {"messages": [...], "tag": ["greeting"]}
    ```

    ## Use instead
    ```json
    {"messages": [...], "tags": ["greeting"]}
    ```
    """

    code = "IN202"
    name = "unknown-key"
    severity = "warning"
    summary = "Record or message has a key intone does not know"
    fix_hint = "Known keys: messages, id, tags, notes, split; messages have role and content."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        data: dict[str, Any] = line.data
        for key in data:
            if key not in KNOWN_RECORD_KEYS:
                yield self.diagnostic(
                    ctx.path,
                    line.number,
                    f"unknown key {key!r} on the record",
                    column=locate_field(line.raw, (key,)),
                )
        for i, msg in enumerate(data["messages"]):
            for key in msg:
                if key not in KNOWN_MESSAGE_KEYS:
                    yield self.diagnostic(
                        ctx.path,
                        line.number,
                        f"messages[{i}]: unknown key {key!r}",
                        column=locate_field(line.raw, ("messages", i, key)),
                    )


class EmptyContent(RecordRule):
    """
    ## What it does
    Reports a message whose content is empty or only whitespace.

    ## Why is this bad?
    An empty assistant turn teaches the model to answer with nothing; an empty user turn is a
    prompt the model will never be given.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]}
    ```

    ## Use instead
    Write the turn, or remove the example.
    """

    code = "IN203"
    name = "empty-content"
    severity = "error"
    summary = "Message content is empty or whitespace"
    fix_hint = "Write the turn's text, or delete the turn or example."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        for i, msg in enumerate(line.record.messages):
            if not msg.content.strip():
                yield self.diagnostic(
                    ctx.path,
                    line.number,
                    f"messages[{i}].content: {msg.role} turn is empty",
                    column=locate_field(line.raw, ("messages", i, "content")),
                )


class RoleOrder(RecordRule):
    """
    ## What it does
    Reports turns in an order chat templates cannot render: an assistant turn before any user
    turn, two consecutive turns by the same role, or a system message that is not first.

    ## Why is this bad?
    Gemma's and Llama's templates raise on non-alternating roles; others silently merge turns,
    so the model learns from a conversation shape it never sees at inference time.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": "hello?"}]}
    ```

    ## Use instead
    Merge the two user turns, or put an assistant turn between them.
    """

    code = "IN204"
    name = "role-order"
    severity = "error"
    summary = "Turns out of order (assistant first, same role twice, late system)"
    fix_hint = "Order turns as: optional system, then user and assistant alternating."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        previous: str | None = None
        seen_user = False
        for i, msg in enumerate(line.record.messages):
            role = msg.role
            where = f"messages[{i}].role"
            problem = None
            if role == "system" and i > 0:
                problem = f"{where}: system message at position {i}, not first"
            elif role == "assistant" and not seen_user:
                problem = f"{where}: assistant turn before any user turn"
            elif role == previous and role != "system":
                problem = f"{where}: two {role} turns in a row"
            if problem:
                column = locate_field(line.raw, ("messages", i, "role"))
                yield self.diagnostic(ctx.path, line.number, problem, column=column)
            seen_user = seen_user or role == "user"
            previous = role


class NoAssistantTurn(RecordRule):
    """
    ## What it does
    Reports a record with no assistant turn at all.

    ## Why is this bad?
    intone trains on assistant tokens only, so such an example teaches nothing and only costs
    time; usually the answer was forgotten.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "Tell me a story"}]}
    ```

    ## Use instead
    Add the character's answer as an assistant turn.
    """

    code = "IN205"
    name = "no-assistant-turn"
    severity = "error"
    summary = "Record has no assistant turn"
    fix_hint = "Add the character's answer as an assistant turn."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        messages = line.record.messages
        if messages and not any(m.role == "assistant" for m in messages):
            yield self.diagnostic(ctx.path, line.number, "no assistant turn: nothing to learn")
        elif not messages:
            yield self.diagnostic(ctx.path, line.number, "messages is empty: nothing to learn")


class EndsOnUser(RecordRule):
    """
    ## What it does
    Reports a record whose last turn is not the assistant's (but which has one earlier).

    ## Why is this bad?
    The trailing turn is never answered, so nothing is learned from it, and some trainers
    treat it as the target.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"},
                  {"role": "user", "content": "and then?"}]}
    ```

    ## Use instead
    Add the answer to the last user turn, or drop that turn.
    """

    code = "IN206"
    name = "ends-on-user"
    severity = "error"
    summary = "Last turn is not the assistant's"
    fix_hint = "Answer the last turn, or remove it."

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        messages = line.record.messages
        if len(messages) > 1 and messages[-1].role != "assistant" and any(m.role == "assistant" for m in messages):
            yield self.diagnostic(
                ctx.path,
                line.number,
                f"messages[{len(messages) - 1}]: conversation ends on a {messages[-1].role} turn",
                column=locate_field(line.raw, ("messages", len(messages) - 1)),
            )


class Whitespace(RecordRule):
    """
    ## What it does
    Reports content with leading or trailing whitespace, or CRLF line breaks inside it.

    ## Why is this bad?
    The model learns the stray spaces and newlines too: answers that start with a space or end
    with a blank line, and `\\r` characters it will reproduce.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "Ahoy!\\r\\n"}]}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    ```
    """

    code = "IN207"
    name = "whitespace"
    severity = "warning"
    summary = "Leading/trailing whitespace or CRLF inside content"
    fix_hint = "Trim the text and use \\n for line breaks (`intone lint --fix` does it)."
    fixable = True

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        for i, msg in enumerate(line.record.messages):
            text = msg.content
            if not text.strip():
                continue  # empty-content's business
            problems = []
            if text[0].isspace():
                problems.append("leading whitespace")
            if text[-1].isspace():
                problems.append("trailing whitespace")
            if "\r" in text:
                problems.append("CRLF line breaks")
            if problems:
                yield self.diagnostic(
                    ctx.path,
                    line.number,
                    f"messages[{i}].content: {' and '.join(problems)}",
                    column=locate_field(line.raw, ("messages", i, "content")),
                )

    def fix(self, edit: LineEdit) -> bool:
        if edit.line.record is None or not edit.rewritable or not isinstance(edit.data, dict):
            return False
        if not self.fix_data(edit.data):
            return False
        edit.data_changed = True
        return True

    @staticmethod
    def fix_data(data: dict[str, Any]) -> bool:
        """Fix the record in place; True if anything changed."""
        changed = False
        for msg in data.get("messages", []):
            text = msg.get("content")
            if isinstance(text, str) and text.strip():
                fixed = text.replace("\r\n", "\n").replace("\r", "\n").strip()
                if fixed != text:
                    msg["content"] = fixed
                    changed = True
        return changed
