"""template-leak: chat-template tokens, role labels or prompt/completion separators inside content."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from intone.lint.registry import RecordRule
from intone.schemas.locate import locate_field

if TYPE_CHECKING:
    from intone.lint.context import LintContext
    from intone.lint.diagnostic import Diagnostic
    from intone.schemas.jsonl import Line

# Literal special tokens of common chat templates (Gemma, ChatML, Llama 2/3, Phi-3, Zephyr).
TEMPLATE_TOKENS = (
    "<start_of_turn>",
    "<end_of_turn>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|end|>",
    "[INST]",
    "[/INST]",
    "<<SYS>>",
    "<</SYS>>",
)
_TOKEN_RE = re.compile("|".join(re.escape(t) for t in TEMPLATE_TOKENS))
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)
_ALPACA_RE = re.compile(r"^[ \t]*###[ \t]*(Instruction|Response|Input|Human|Assistant)[ \t]*:", re.MULTILINE)
_ALPACA_PREAMBLE = "Below is an instruction that describes a task"
# A speaker label at a line start: one to three capitalised words and a colon, then text.
_LABEL_RE = re.compile(r"^[ \t]*([A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*){0,2}):(?=[ \t]|$)", re.MULTILINE)
_OWN_LABELS = {
    "user": {"user", "human"},
    "assistant": {"assistant", "ai", "bot", "gpt"},
    "system": {"system"},
}
_USER_LABELS = frozenset({"user", "human"})
# Labels that head notes or lists, not speakers.
_NOT_SPEAKERS = frozenset(
    [
        *("note", "tip", "tips", "example", "examples", "warning", "caution", "important", "hint"),
        *("step", "steps", "answer", "question", "summary", "input", "output", "result", "results"),
        *("error", "reason", "source", "ps", "update", "edit", "todo", "usage"),
    ]
)
_TRAILING_HASHES = re.compile(r"(?<!#)###\s*\Z")
_SEPARATOR = "\n\n###\n\n"
_TRAILING_END = re.compile(r"(?:^|(\S+))\s+END\s*\Z")
# "THE END" ends a story and "press END" names a key: not stop words.
_NOT_BEFORE_END = frozenset({"the", "press", "hit", "key", "pressing", "hitting"})
_TRAILING_ARROW = re.compile(r"\s->\s*\Z")
_MARKS = (
    ("<", None),
    ("[", None),
    (":", None),
    ("#", lambda text: "###" in text),
    (">", lambda text: "->" in text),
    ("D", lambda text: text.rstrip().endswith("END")),
    ("B", lambda text: text.lstrip().startswith(_ALPACA_PREAMBLE)),
)
"""What any markup `leaks` finds holds, as (a character, None or a test of a message holding
it): template tokens a "<" or "[", labels and headers a ":", "###" a "#", "->" a ">", and a
message may end with "END" or open with the Alpaca preamble."""


def _mask_code(text: str) -> str:
    """`text` with fenced code blocks blanked (same length), so code is not read as markup."""
    return _FENCE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def leaks(role: str, text: str) -> list[tuple[str, str]]:
    """(what was found, the text to point at) for each kind of markup in one message's content.

    Each check first asks a cheap string question (is there a "<" at all, does the text end in
    "#"), so that clean text, nearly all of it, costs a few `in` tests."""
    found: list[tuple[str, str]] = []
    if "<" in text or "[" in text:
        for token in dict.fromkeys(_TOKEN_RE.findall(text)):
            found.append((f'template token "{token}"', token))
    stripped = text.strip()
    if stripped.startswith("<s>") and "</s>" not in text:
        found.append(('start token "<s>"', "<s>"))
    if stripped.endswith("</s>") and "<s>" not in text:
        found.append(('end token "</s>"', "</s>"))
    fenced = "```" in text or "~~~" in text
    prose = _mask_code(text) if fenced else text
    if "###" in prose:
        for header in dict.fromkeys(_ALPACA_RE.findall(prose)):
            found.append((f'Alpaca header "### {header}:"', f"{header}:"))
    if stripped.startswith(_ALPACA_PREAMBLE):
        found.append(("the Alpaca preamble", _ALPACA_PREAMBLE))
    if ":" in prose:
        found += _role_labels(role, prose)
    tail = text.rstrip()
    if _SEPARATOR in tail:
        found.append(('prompt/completion separator "\\n\\n###\\n\\n"', "\n\n###\n\n"))
    if tail.endswith("###") and _TRAILING_HASHES.search(tail[-8:]):
        if re.search(r"\n[ \t]*\n[ \t]*###[ \t]*\n\s*\Z", text[-64:]):
            found.append(('the prompt/completion separator "\\n\\n###\\n\\n" at the end', "###"))
        else:
            found.append(('a trailing "###" separator', "###"))
    elif role == "user" and tail.endswith("->") and _TRAILING_ARROW.search(text[-64:]):
        found.append(('a trailing "->" separator', "->"))
    if tail.endswith("END"):
        end = _TRAILING_END.search(tail[-256:]) if len(tail) > 256 else _TRAILING_END.search(tail)
        if end and (end.group(1) or "").lower() not in _NOT_BEFORE_END:
            found.append(('a trailing " END" stop word', " END"))
    return found


def _role_labels(role: str, prose: str) -> list[tuple[str, str]]:
    labels = [(m.start(1), m.group(1)) for m in _LABEL_RE.finditer(prose)]
    if not labels:
        return []
    start = len(prose) - len(prose.lstrip())
    speakers = {name.lower() for _, name in labels} - _NOT_SPEAKERS
    users = [(at, name) for at, name in labels if name.lower() in _USER_LABELS]
    if users and len(speakers) >= 2:
        others = [name for _, name in labels if name.lower() in speakers - _USER_LABELS]
        shown = ", ".join(f'"{name}:"' for name in dict.fromkeys([users[0][1], *others]))
        return [(f"role labels {shown} at line starts (a transcript)", f"{users[0][1]}:")]
    found: list[tuple[str, str]] = []
    at, first = labels[0]
    if at == start and first.lower() in _OWN_LABELS.get(role, ()):
        where = "opening the answer" if role == "assistant" else f"opening the {role} turn"
        found.append((f'role label "{first}:" {where}', f"{first}:"))
    later = [name for at, name in users if at > start]
    if role == "assistant" and later:
        what = f'role label "{later[0]}:" at a line start (the answer writes the user\'s turn)'
        found.append((what, f"{later[0]}:"))
    return found


def _column(raw: bytes, field_column: int | None, snippet: str) -> int | None:
    """The column of `snippet` inside the content string that starts at `field_column`."""
    if field_column is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return field_column
    for escaped in (json.dumps(snippet, ensure_ascii=False)[1:-1], json.dumps(snippet)[1:-1]):
        at = text.find(escaped, field_column - 1)
        if at >= 0:
            return at + 1
    return field_column


class TemplateLeak(RecordRule):
    """
    ## What it does
    Reports chat-template or role markup written into a message's content (any role):

    - template tokens: Gemma `<start_of_turn>` / `<end_of_turn>`, ChatML `<|im_start|>` /
      `<|im_end|>` / `<|endoftext|>`, Llama `[INST]` / `[/INST]` / `<<SYS>>` / `<|eot_id|>` /
      `<|start_header_id|>`, Phi and Zephyr `<|user|>` / `<|assistant|>` / `<|end|>`; `<s>` only
      opening the content and `</s>` only closing it (and not when the other is also present,
      as in HTML strike-through);
    - Alpaca headers at a line start: `### Instruction:`, `### Input:`, `### Response:`, and the
      preamble "Below is an instruction that describes a task";
    - role labels at line starts: content opening with its own role's label ("Assistant:" or
      "AI:" in an answer, "User:" or "Human:" in a prompt); a `User:` / `Human:` line with
      another speaker's `Name:` line ("User: hi\\nSylana: hello"); an answer with a later line
      starting `User:`. Labels that head notes ("Note:", "Tip:", "Example:") are not speakers;
      fenced code blocks are not read for labels or headers;
    - legacy prompt/completion separators: content ending with `###`, the `\\n\\n###\\n\\n`
      separator anywhere, a prompt ending with ` ->`, and content ending with the stop word
      ` END` (upper case, the last token; "THE END" ends a story and "press END" names a key).

    A markdown heading such as `### Setup` is not a leak. One finding per record, naming each
    field and what was found; the column points at the first one.

    ## Why is this bad?
    The trainer renders each conversation with the model's own chat template. Markup already
    in the text is trained as ordinary words: the model learns to print `###` or "User:" and to
    write the user's next turn itself, and a literal `<end_of_turn>` may be tokenized as the
    real control token, cutting the example short. Prompt/completion separators are leftovers
    of the legacy OpenAI format and mean nothing in chat format.

    ## Example
    ```json
    {"messages": [{"role": "user", "content": "Hi \\n\\n###\\n\\n"}, {"role": "assistant", "content": "Ahoy!###"}]}
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!\\nUser: and you?\\nWren: Grand."}]}
    ```

    ## Use instead
    ```json
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}
    ```
    One turn per message; let the trainer add the template.
    """

    code = "IN208"
    name = "template-leak"
    severity = "error"
    summary = "Chat-template tokens, role labels or prompt/completion separators inside content"
    fix_hint = "Delete the markup: one turn per message, and let the trainer apply the chat template."

    def check_many(self, lines: Sequence[Line], ctx: LintContext) -> Iterator[Diagnostic]:
        # Every kind of markup holds one of `_MARKS`' characters; a one-character search runs
        # at memory speed (where one for "###" or "END" reads a byte at a time), so the block's
        # text is searched for each character first, and only the messages of a block holding
        # it are searched again. Only the records of the messages found are checked.
        contents = [msg.content for line in lines for msg in line.record.messages]
        block = "\x00".join(contents)
        found: set[int] = set()
        for char, holds in _MARKS:
            if char not in block:
                continue
            if holds is None:
                found.update(i for i, text in enumerate(contents) if char in text)
            else:
                found.update(i for i, text in enumerate(contents) if char in text and holds(text))
        if not found:
            return
        owner = [n for n, line in enumerate(lines) for _ in line.record.messages]
        for n in sorted({owner[i] for i in found}):
            yield from self.check(lines[n], ctx)

    def check(self, line: Line, ctx: LintContext) -> Iterator[Diagnostic]:
        messages = line.record.messages
        text = messages[0].content if len(messages) == 1 else "\x00".join([m.content for m in messages])
        # Every kind of markup holds one of these (see `leaks`); clean records, nearly all of
        # them, cost these few tests on all their text at once.
        if not (
            "<" in text or "[" in text or ":" in text or "###" in text or "->" in text or "END" in text
            or _ALPACA_PREAMBLE in text
        ):
            return
        parts: list[str] = []
        column: int | None = None
        for i, msg in enumerate(messages):
            found = leaks(msg.role, msg.content)
            if not found:
                continue
            parts.append(f"messages[{i}].content: " + ", ".join(what for what, _ in found))
            if column is None:
                field = locate_field(line.raw, ("messages", i, "content"))
                column = _column(line.raw, field, found[0][1])
        if parts:
            yield self.diagnostic(ctx.path, line.number, "; ".join(parts), column=column)
