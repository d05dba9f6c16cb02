"""The small indexes the live lint keeps per row: record digests for the duplicate rules, and a
near-duplicate index of every answer, one answer at a time as the near-duplicate rule compares
them. No textual here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from intone.authoring.model import Row
from intone.lint.profile import ExampleStats
from intone.lint.text import word_count
from intone.schemas.jsonl import Line, validate_line


def make_line(row: Row, number: int, data: Any = None) -> Line:
    """A `Line` for the lint rules, built from the row's current data (or `data`, read from it)."""
    if data is None:
        data = row.data
    line = Line(
        number=number,
        raw=b"",
        ending=b"\n",
        data=data,
        record=row.record(data),
        problems=list(row.problems) if not row.dirty or row.broken else [],
    )
    if line.record is None and row.dirty and not row.broken:
        validate_line(line)  # an edit the schema rejects: its problems, as batch lint reads them
    return line


def answers_of(row: Row) -> list[str]:
    return [m.get("content", "") for m in row.messages if m.get("role") == "assistant"]


@dataclass(slots=True)
class Stats:
    """What the live context counts for one record, so that it can be taken out again."""

    key: bytes
    """The example's digest (duplicate-example)."""
    prompt: bytes | None
    """A digest of its normalised prompt (duplicate-prompt); None without a prompt."""
    prompt_text: str
    """The normalised prompt itself (duplicate-prompt's message; kept only for edited records)."""
    words: tuple[int, ...]
    tokens: tuple[int, ...]


def stats_of(ex: ExampleStats, tokens: Sequence[int]) -> Stats:
    prompt = hashlib.blake2b(ex.prompt.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return Stats(ex.example_key, prompt if ex.prompt else None, ex.prompt, tuple(ex.answer_words), tuple(tokens))


def index_add(index: dict[bytes, Any], key: bytes, uid: int) -> None:
    """index[key] is one uid, or a set of them when several records share the key."""
    have = index.get(key)
    if have is None:
        index[key] = uid
    elif isinstance(have, set):
        have.add(uid)
    elif have != uid:
        index[key] = {have, uid}


def index_discard(index: dict[bytes, Any], key: bytes, uid: int) -> None:
    have = index.get(key)
    if have == uid:
        del index[key]
    elif isinstance(have, set):
        have.discard(uid)
        if len(have) == 1:
            index[key] = next(iter(have))


def index_get(index: dict[bytes, Any], key: bytes | None) -> set[int]:
    have = index.get(key) if key is not None else None
    return set() if have is None else set(have) if isinstance(have, set) else {have}


def first_of(uids: set[int], rows: Sequence[Row]) -> tuple[int, int] | None:
    """(index, uid) of the first row in `rows` whose uid is in `uids`; None when none is."""
    if uids:
        for i, row in enumerate(rows):
            if row.uid in uids:
                return i, row.uid
    return None


class AnswerIndex:
    """Every answer of every row in a near-duplicate index, keyed (row uid, answer number).

    The near-duplicate rule compares one answer with another, never a conversation's answers
    joined; so does this: a row resembles another when any of its answers does, with that
    answer's similarity. Answers under `min_words` words are not compared (as the rule skips them)."""

    def __init__(self, similarity: Any, threshold: float, min_words: int) -> None:
        self.index = similarity.NearDuplicateIndex(threshold=threshold)
        self.min_words = min_words
        self.answers: dict[int, int] = {}
        """Row uid -> how many of its answers are indexed."""

    def comparable(self, text: str) -> bool:
        return word_count(text) >= self.min_words

    def add(self, uid: int, answers: Sequence[str]) -> None:
        self.remove(uid)
        count = 0
        for i, text in enumerate(answers):
            if self.comparable(text):
                self.index.add((uid, i), text)
                count = i + 1
        if count:
            self.answers[uid] = count

    def remove(self, uid: int) -> None:
        for i in range(self.answers.pop(uid, 0)):
            self.index.remove((uid, i))

    def __contains__(self, uid: object) -> bool:
        return uid in self.answers

    def query(self, answers: Sequence[str], exclude: int | None = None) -> list[tuple[int, float]]:
        """(row uid, best similarity of any of its answers to any of `answers`), most similar first."""
        best: dict[int, float] = {}
        for text in answers:
            if not self.comparable(text):
                continue
            for (uid, _i), sim in self.index.query(text):
                if uid != exclude and sim > best.get(uid, -1.0):
                    best[uid] = sim
        return sorted(best.items(), key=lambda kv: -kv[1])
