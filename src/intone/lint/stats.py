"""The dataset profile: per-example features computed in ONE pass, read by every dataset rule."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intone.schemas.jsonl import Line


def normalize_ws(text: str) -> str:
    """Collapse runs of whitespace and strip: the normal form for exact-duplicate checks."""
    return " ".join(text.split())


def normalize_prompt(text: str) -> str:
    return normalize_ws(text).casefold()


def word_count(text: str) -> int:
    return len(text.split())


@dataclass(slots=True)
class ExampleStats:
    """What the dataset rules need to know about one valid record."""

    line: int
    prompt: str
    """All user turns, whitespace-normalised and case-folded, joined by a newline."""
    example_key: bytes
    """Digest of every message (role and whitespace-normalised content)."""
    answers: list[str]
    """The assistant turns' text, as written."""
    answer_words: list[int]
    tags: tuple[str, ...] = ()


@dataclass
class DatasetProfile:
    """Built by `add`-ing each valid line in file order; rules read it after the pass."""

    path: str
    examples: list[ExampleStats] = field(default_factory=list)
    n_lines: int = 0

    def add(self, line: Line) -> ExampleStats | None:
        record = line.record
        if record is None:
            return None
        digest = hashlib.blake2b(digest_size=16)
        prompts: list[str] = []
        answers: list[str] = []
        for msg in record.messages:
            digest.update(msg.role.encode())
            digest.update(b"\x00")
            digest.update(normalize_ws(msg.content).encode("utf-8", "surrogatepass"))
            digest.update(b"\x01")
            if msg.role == "user":
                prompts.append(normalize_prompt(msg.content))
            elif msg.role == "assistant":
                answers.append(msg.content)
        example = ExampleStats(
            line=line.number,
            prompt="\n".join(prompts),
            example_key=digest.digest(),
            answers=answers,
            answer_words=[word_count(a) for a in answers],
            tags=tuple(record.tags or ()),
        )
        self.examples.append(example)
        return example

    @property
    def n_records(self) -> int:
        return len(self.examples)

    def answer_word_lengths(self) -> list[int]:
        return [n for ex in self.examples for n in ex.answer_words]
