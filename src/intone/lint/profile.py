"""The dataset profile: per-example features computed in ONE pass, read by every dataset rule."""

from __future__ import annotations

import hashlib
import operator
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import accumulate, compress, count, islice, pairwise
from typing import TYPE_CHECKING, Any

from intone.lint.text import HUGE_TEXT, edge_words, pieces_at_spaces, word_count

if TYPE_CHECKING:
    from intone.lint.style import StyleSample
    from intone.lint.tokens import TokenCounter
    from intone.schemas.jsonl import Line

TOKEN_SAMPLE = 2000
"""Answers tokenized for token-length statistics (evenly spaced when there are more)."""
STYLE_SAMPLE = 2000
"""Answers given stylometric features (evenly spaced when there are more)."""
EDGE_SAMPLE = 5_000
"""Answers whose first and last words are counted (evenly spaced when there are more)."""


KEY_BYTES = 16
"""Digest size of an answer's key."""


def evenly_spaced(n: int, limit: int) -> list[int]:
    """All of range(n) when n <= limit, else `limit` deterministic, evenly spaced positions."""
    if n <= limit:
        return list(range(n))
    return [(i * n) // limit for i in range(limit)]


_SHARED: dict[tuple, tuple] = {}
_SHARED_LIMIT = 50_000


def shared(values: tuple) -> tuple:
    """One tuple object for equal small tuples: most records' word counts, answer turns and tags
    are one of a few thousand small tuples, so a million-line profile keeps those few thousand
    instead of three million (about 150 bytes a record)."""
    if len(values) > 3:
        return values
    found = _SHARED.get(values)
    if found is not None:
        return found
    if len(_SHARED) < _SHARED_LIMIT:
        _SHARED[values] = values
    return values


def normalize_ws(text: str) -> str:
    """Collapse runs of whitespace and strip: the normal form for exact-duplicate checks. (A
    huge text is normalised piece by piece: the same result, in calls short enough for the
    editor to stay responsive; see `text.HUGE_TEXT`.)"""
    if len(text) > HUGE_TEXT:
        return " ".join(filter(None, (" ".join(piece.split()) for piece in pieces_at_spaces(text))))
    return " ".join(text.split())


_ROLE_BYTES = {role: role.encode() + b"\x00" for role in ("system", "user", "assistant")}


@dataclass(slots=True)
class ExampleStats:
    """What the dataset rules need to know about one valid record."""

    line: int
    prompt: str
    """All user turns, whitespace-normalised and case-folded, joined by a newline."""
    example_key: bytes
    """Digest of every message (role and whitespace-normalised content)."""
    answers: tuple[str, ...]
    """The assistant turns' text, as written. (Tuples, not lists, throughout: a million-line
    file has a million of each, and a one-item tuple is half the memory of a one-item list.)"""
    answer_words: tuple[int, ...]
    tags: tuple[str, ...] = ()
    prompt_words: int = 0
    """Words in all user turns together."""
    n_messages: int = 0
    has_system: bool = False
    answer_turns: tuple[int, ...] = ()
    """For each answer, the index of the user turn it follows (-1 when none does)."""
    answer_keys: bytes = b""
    """For each answer, a KEY_BYTES digest of its whitespace-normalised text (equal for exact
    copies), all in one bytes object (one object per record, not one per answer)."""


def split_keys(keys: bytes) -> list[bytes]:
    """KEY_BYTES digests joined in one bytes object, apart again."""
    return [keys[i : i + KEY_BYTES] for i in range(0, len(keys), KEY_BYTES)]


FIELD_NAMES = tuple(f.name for f in fields(ExampleStats))
_FIELDS = operator.attrgetter(*FIELD_NAMES)


class Columns:
    """Every example's fields, one list per field, in file order: what the scan builds.

    Column `line` holds every example's line, `answers` every example's answers, and so on,
    with the field names of `ExampleStats`. A pass over one field reads one list, where a pass
    over a large file's `ExampleStats` objects visits 100k objects scattered over memory (three
    times slower here)."""

    __slots__ = (*FIELD_NAMES, "_lists")
    line: list[int]
    prompt: list[str]
    example_key: list[bytes]
    answers: list[tuple[str, ...]]
    answer_words: list[tuple[int, ...]]
    tags: list[tuple[str, ...]]
    prompt_words: list[int]
    n_messages: list[int]
    has_system: list[bool]
    answer_turns: list[tuple[int, ...]]
    answer_keys: list[bytes]

    def __init__(self, *lists: list) -> None:
        lists = lists or tuple([] for _ in FIELD_NAMES)
        for name, values in zip(FIELD_NAMES, lists, strict=True):
            setattr(self, name, values)
        self._lists = lists

    @classmethod
    def of(cls, examples: Sequence[ExampleStats]) -> Columns:
        if not examples:
            return cls()
        return cls(*map(list, zip(*map(_FIELDS, examples), strict=True)))

    def lists(self) -> tuple[list, ...]:
        """The columns in field order (the lists themselves)."""
        return self._lists

    def __len__(self) -> int:
        return len(self.line)

    def append(self, values: tuple) -> None:
        """Append one example's fields (in field order)."""
        any(map(list.append, self._lists, values))  # list.append returns None: any() runs them all

    def extend(self, other: Columns) -> None:
        """Append `other`'s examples (in place)."""
        for mine, theirs in zip(self._lists, other.lists(), strict=True):
            mine.extend(theirs)

    def examples(self) -> list[ExampleStats]:
        return list(map(ExampleStats, *self.lists()))


def pack_columns(columns: Columns) -> tuple:
    """The columns packed to send to another process: every prompt in one string, every answer
    in another, the keys in two bytes objects. One long string pickles and loads as one copy,
    where 100k short ones cost an object each way (this halves a forked scan's hand-back)."""
    if not len(columns):
        return ()
    answers = columns.answers
    flat = [text for group in answers for text in group]
    return (
        array("q", columns.line),
        "".join(columns.prompt),
        array("q", map(len, columns.prompt)),
        b"".join(columns.example_key),
        "".join(flat),
        array("q", map(len, flat)),
        array("q", map(len, answers)),
        columns.answer_words,
        columns.tags,
        array("q", columns.prompt_words),
        array("q", columns.n_messages),
        columns.has_system,
        columns.answer_turns,
        b"".join(columns.answer_keys),
        array("q", map(len, columns.answer_keys)),
    )


def unpack_columns(packed: tuple) -> Columns:
    """The columns that `pack_columns` packed, equal to the originals."""
    if not packed:
        return Columns()
    lines, prompt_text, prompt_lengths, example_keys, answer_text, answer_lengths = packed[:6]
    counts, answer_words, tags, prompt_words, n_messages, has_system = packed[6:12]
    answer_turns, answer_keys, answer_key_lengths = packed[12:]
    flat = iter(_cut(answer_text, answer_lengths))
    answers = [(next(flat),) if n == 1 else tuple(islice(flat, n)) for n in counts]
    return Columns(
        lines.tolist(),
        _cut(prompt_text, prompt_lengths),
        split_keys(example_keys),
        answers,
        list(answer_words),
        list(tags),
        prompt_words.tolist(),
        n_messages.tolist(),
        list(has_system),
        list(answer_turns),
        _cut(answer_keys, answer_key_lengths),
    )


def _cut(text: str | bytes, lengths: Sequence[int]) -> list:
    """`text` cut into consecutive pieces of these lengths."""
    ends = list(accumulate(lengths, initial=0))
    return [text[a:b] for a, b in pairwise(ends)]


_FIRST = operator.itemgetter(0)


class AnswerTable(Sequence[tuple[int, str]]):
    """Every answer as (line, text), stored as an array of line numbers and a list of texts: a
    million answers take 16 MB here instead of the 72 MB of a million (line, text) tuples."""

    __slots__ = ("lines", "texts")

    def __init__(self, lines: array, texts: list[str]) -> None:
        self.lines = lines
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return list(zip(self.lines[index], self.texts[index]))
        return self.lines[index], self.texts[index]

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return zip(self.lines, self.texts)


def example_values(line: Line) -> tuple | None:
    """The fields of `ExampleStats` for one line (None when it holds no valid record)."""
    record = line.record
    if record is None:
        return None
    parts: list[bytes] = []  # role, NUL, normalised content, SOH for each message: the example key
    prompts: list[str] = []
    answers: list[str] = []
    prompt_words = 0
    answer_turns: list[int] = []
    answer_keys: list[bytes] = []
    blake2b = hashlib.blake2b
    messages = record.messages
    for msg in messages:
        role, content = msg.role, msg.content
        normal_text = normalize_ws(content)
        normal = normal_text.encode("utf-8", "surrogatepass")
        parts += _ROLE_BYTES.get(role) or role.encode() + b"\x00", normal, b"\x01"
        if role == "user":
            prompts.append(normal_text.casefold())  # the prompt key: whitespace-normalised, case-folded
            prompt_words += word_count(content)
        elif role == "assistant":
            answers.append(content)
            answer_turns.append(len(prompts) - 1)
            answer_keys.append(blake2b(normal, digest_size=KEY_BYTES).digest())
    return (
        line.number,
        "\n".join(prompts),
        blake2b(b"".join(parts), digest_size=KEY_BYTES).digest(),
        tuple(answers),
        shared(tuple([word_count(a) for a in answers])),
        shared(tuple(record.tags)) if record.tags else (),
        prompt_words,
        len(messages),
        bool(messages) and messages[0].role == "system",
        shared(tuple(answer_turns)),
        answer_keys[0] if len(answer_keys) == 1 else b"".join(answer_keys),
    )


def example_stats(line: Line) -> ExampleStats | None:
    """What the dataset rules know of one line's example (None when it holds no valid record)."""
    values = example_values(line)
    return None if values is None else ExampleStats(*values)


class DatasetProfile:
    """Built by `add`-ing each valid line in file order; rules read it after the pass.

    It holds the examples as `columns` (what `add` and a lint's scan build) or as a list of
    `examples` (what a caller may pass); each is made from the other when first asked for."""

    def __init__(
        self,
        path: str,
        examples: list[ExampleStats] | None = None,
        n_lines: int = 0,
        *,
        columns: Columns | None = None,
    ) -> None:
        self.path = path
        self.n_lines = n_lines
        self._examples = examples
        self._columns = columns if columns is not None or examples is not None else Columns()
        self._cache: dict[Any, Any] = {}
        """Analyses computed on first use and shared by every rule (and `intone stats`)."""

    def __repr__(self) -> str:
        return f"DatasetProfile(path={self.path!r}, n_records={self.n_records}, n_lines={self.n_lines})"

    @property
    def examples(self) -> list[ExampleStats]:
        if self._examples is None:
            self._examples = self.columns.examples()
        return self._examples

    @property
    def columns(self) -> Columns:
        if self._columns is None:
            self._columns = Columns.of(self._examples or [])
        return self._columns

    def add(self, line: Line) -> None:
        """Add this line's example (nothing, when it holds no valid record)."""
        values = example_values(line)
        if values is None:
            return
        if self._columns is not None:
            self._columns.append(values)
        if self._examples is not None:
            self._examples.append(ExampleStats(*values))

    @property
    def n_records(self) -> int:
        return len(self._columns) if self._columns is not None else len(self._examples or ())

    def answer_word_lengths(self) -> list[int]:
        """Each answer's words, in `answers` order (computed once: callers must not change it)."""
        def compute() -> list[int]:
            counts = self._answer_columns()[3]
            if self.one_answer_each():
                return list(map(_FIRST, counts))
            return [n for group in counts for n in group]

        return self._cached(("answer_words", self.n_records), compute)

    # ------------------------------------------------------------------ shared analyses
    # Each is computed once, on first use, from the examples gathered in the single pass.

    def _cached(self, key: Any, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _answer_columns(self) -> tuple[Sequence, Sequence, Sequence, Sequence]:
        """(lines, answers, answer_keys, answer_words) of every example: their columns."""

        def compute():
            c = self.columns
            return c.line, c.answers, c.answer_keys, c.answer_words

        return self._cached(("answer columns", self.n_records), compute)

    def one_answer_each(self) -> bool:
        """Whether every example has exactly one answer (then answer i is example i's)."""
        return self._cached("one_answer_each", lambda: set(map(len, self._answer_columns()[1])) == {1})

    def answers(self) -> AnswerTable:
        """Every assistant turn in file order as (line, text)."""

        def compute() -> AnswerTable:
            lines, answers = self._answer_columns()[:2]
            if self.one_answer_each():
                return AnswerTable(array("q", lines), list(map(_FIRST, answers)))
            return AnswerTable(
                array("q", [line for line, group in zip(lines, answers, strict=True) for _ in group]),
                [text for group in answers for text in group],
            )

        return self._cached("answers", compute)

    def answer_example(self) -> Sequence[int]:
        """For each answer (same order as `answers`), the index of its example."""

        def compute() -> Sequence[int]:
            if self.one_answer_each():
                return array("q", range(self.n_records))
            return array("q", [i for i, group in enumerate(self.columns.answers) for _ in group])

        return self._cached("answer_example", compute)

    def answer_original(self) -> Sequence[int]:
        """For each answer (same order as `answers`), the position of the first answer with the
        same whitespace-normalised text: itself for an original, the original for an exact copy."""

        def compute() -> Sequence[int]:
            keys: list[bytes | str] = []
            if self.one_answer_each():
                keys = list(self._answer_columns()[2])
                if set(map(len, keys)) == {KEY_BYTES}:  # one digest each: the form `add` gives
                    first_at: dict[bytes | str, int] = {}
                    return array("q", map(first_at.setdefault, keys, range(len(keys))))
                keys = []
            for key, answers in zip(self.columns.answer_keys, self.columns.answers, strict=True):
                n = len(answers)
                if n == 1 and len(key) == KEY_BYTES:
                    keys.append(key)
                elif len(key) == KEY_BYTES * n:
                    keys += split_keys(key)
                else:
                    keys += map(normalize_ws, answers)
            first: dict[bytes | str, int] = {}
            return array("q", map(first.setdefault, keys, range(len(keys))))

        return self._cached("answer_original", compute)

    def distinct_answers(self) -> Sequence[int]:
        """Positions (in `answers`) of the answers that are not exact copies of an earlier one:
        what voice rules judge, so a pasted answer is not counted 20 times."""
        return self._cached(
            "distinct_answers",
            # the positions i whose original is i, at C speed
            lambda: array("q", compress(count(), map(operator.eq, self.answer_original(), count()))),
        )

    def answer_prompts(self) -> list[str]:
        """For each answer (same order as `answers`), the user turn it answers (whitespace-
        normalised and case-folded; "" when no user turn comes before it)."""

        def compute() -> list[str]:
            prompts, turns = self.columns.prompt, self.columns.answer_turns
            if set(turns) == {(0,)} and not any("\n" in p for p in prompts):  # one prompt, one answer each
                return list(prompts)
            found = []
            for prompt, answer_turns, answers in zip(prompts, turns, self.columns.answers, strict=True):
                if answer_turns == (0,) and "\n" not in prompt:  # one prompt, one answer: most
                    found.append(prompt)
                    continue
                user_turns = prompt.split("\n") if prompt else []
                for turn in answer_turns or [len(user_turns) - 1] * len(answers):
                    found.append(user_turns[turn] if 0 <= turn < len(user_turns) else "")
            return found

        return self._cached("answer_prompts", compute)

    def token_sample(self, counter: TokenCounter, limit: int = TOKEN_SAMPLE) -> tuple[list[int], list[int]]:
        """(answer positions, token counts) for at most `limit` evenly spaced answers."""

        def compute() -> tuple[list[int], list[int]]:
            answers = self.answers()
            positions = evenly_spaced(len(answers), limit)
            return positions, counter.count_texts([answers[i][1] for i in positions])

        return self._cached(("tokens", counter.name, limit), compute)

    def edges(
        self, limit: int = EDGE_SAMPLE
    ) -> tuple[list[int], list[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """(answer positions, their first and last (up to) three words) for at most `limit`
        evenly spaced answers."""

        def compute():
            answers = self.answers()
            positions = evenly_spaced(len(answers), limit)
            return positions, [edge_words(answers[i][1]) for i in positions]

        return self._cached(("edges", limit), compute)

    def styles(self, limit: int = STYLE_SAMPLE) -> StyleSample:
        """Voice features of the distinct answers among at most `limit` evenly spaced ones."""

        def compute():
            from intone.lint.style import style_sample

            answers = self.answers()
            return style_sample(answers, evenly_spaced(len(answers), limit))

        return self._cached(("styles", limit), compute)

    def near_copies(
        self,
        threshold: float,
        min_words: int,
        min_containment: float | None = None,
        containment_min_words: int = 0,
        num_perm: int = 64,
    ) -> list[tuple[int, int, float, float]]:
        """(later, earlier, Jaccard, containment) among DISTINCT answers (`distinct_answers`) of
        at least `min_words` words: Jaccard >= `threshold`, or containment >= `min_containment`
        with the smaller answer at least `containment_min_words` words long."""

        def compute():
            import numpy as np

            from intone.lint.similarity import near_copy_pairs

            words = np.asarray(self.answer_word_lengths(), dtype=np.int64)
            original = np.asarray(self.answer_original(), dtype=np.int64)
            skip = (words < min_words) | (original != np.arange(words.size))
            contained_skip = words < containment_min_words
            return near_copy_pairs(
                self.answers().texts,
                threshold,
                min_containment,
                num_perm=num_perm,
                skip=skip,
                contained_skip=contained_skip,
            )

        return self._cached(("nearcopies", threshold, min_words, min_containment, containment_min_words, num_perm), compute)
