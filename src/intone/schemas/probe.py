"""A probe folder: the replies `intone probe` wrote (probe.jsonl) and the ratings given to them.

No textual, no torch: `intone author --review DIR` and `intone probe --ratings DIR` both read
through here.

`DIR/probe.jsonl` holds one reply per line (see `ProbeReply`). A line that is not a reply is
reported as `file:line: what is wrong` and skipped; the other lines are still read.

`DIR/ratings.jsonl` is append-only: one JSON object per line, each line flushed and fsynced as it
is given, never rewritten. Two kinds of line:

    {"kind": "rating", "reply_id": "p3-t0.6-tuned-s0", "rating": 4, "voice": "in",
     "source": "tuned", "setting_id": "t0.6", "reply_sha256": "9f2c...", "at": "2026-...Z"}

    {"kind": "ab", "left": "p3-t0.6-base-s0", "right": "p3-t0.6-tuned-s0",
     "winner": "p3-t0.6-tuned-s0", "sources": ["base", "tuned"],
     "replies_sha256": ["1a2b...", "9f2c..."], "at": "2026-...Z"}

- A rating line is the reply's whole judgement at that moment: `rating` 1-5 or null (none
  given), `voice` "in", "off" or null. The last line for a `reply_id` is the one that counts, so
  re-rating or clearing is a new line and the history stays. A line without `kind` is a rating.
- An "ab" line is one blind pick between two replies of the same prompt, setting and sample:
  `left` and `right` as they were shown (the order was random, so position bias can be checked),
  `winner` is one of the two ids or "tie", `sources` the hidden labels in the same order. The
  last line for a pair (either order) counts.
- `reply_sha256` (first 16 hex digits of the reply text's sha256) ties a judgement to the text
  judged: after a re-probe into the same folder the ids come back with new replies, and the old
  judgements are counted as stale, not as judgements of the new text.
- `source`, `setting_id` and `at` are for people reading the file; the summary takes source and
  setting from probe.jsonl. Unknown keys are ignored, a bad line is reported and skipped (a
  crash can leave a cut last line; the next append starts on a new line).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
RATINGS_FILE = "ratings.jsonl"
SUMMARY_FILE = "summary.json"
VOICES = ("in", "off")
TIE = "tie"
Z95 = 1.959963984540054
"""The normal quantile for a two-sided 95% interval."""
SOURCE_ORDER = ("tuned", "compare", "base")
"""The source named first in a matchup: the win rate is the tuned run's over the other."""


# ------------------------------------------------------------------------------- replies


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
        for number, value, problem in _json_lines(path):
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


def _json_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
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


# ------------------------------------------------------------------------------- ratings


@dataclass(frozen=True)
class Rating:
    """The judgement of one reply (the last rating line for its id)."""

    reply_id: str
    rating: int | None = None
    """1 (bad) to 5 (good), or None when only the voice was marked."""
    voice: str | None = None
    """"in" (in voice), "off" (off voice), or None."""
    reply_sha256: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Pick:
    """One blind A/B pick (the last "ab" line for its pair)."""

    left: str
    right: str
    winner: str
    """`left`, `right` or "tie"."""
    sources: tuple[str, ...] = ()
    replies_sha256: tuple[str, ...] = ()
    line: int = 0

    @property
    def key(self) -> frozenset[str]:
        return pair_key(self.left, self.right)


def pair_key(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


@dataclass
class Ratings:
    """What ratings.jsonl holds now: the last judgement per reply and per pair."""

    path: Path
    ratings: dict[str, Rating] = field(default_factory=dict)
    picks: dict[frozenset[str], Pick] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    """Judgement lines read (a re-rating counts again)."""

    def add(self, item: Rating | Pick) -> None:
        if isinstance(item, Rating):
            self.ratings.pop(item.reply_id, None)  # keep dict order = order of last judgement
            self.ratings[item.reply_id] = item
        else:
            self.picks.pop(item.key, None)
            self.picks[item.key] = item
        self.lines += 1


def read_ratings(folder: str | os.PathLike[str]) -> Ratings:
    """The folder's ratings.jsonl (none yet: empty). Bad lines become problems and are skipped."""
    path = Path(folder) / RATINGS_FILE
    out = Ratings(path)
    if not path.exists():
        return out
    try:
        for number, value, problem in _json_lines(path):
            item = None
            if problem is None:
                item, problem = parse_judgement(value, number)
            if item is not None:
                out.add(item)
            if problem is not None:
                out.problems.append(f"{path}:{number}: {problem}")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return out


def parse_judgement(value: dict[str, Any], line: int = 0) -> tuple[Rating | Pick | None, str | None]:
    """A ratings.jsonl object as a Rating or a Pick, or (None, what is wrong with it)."""
    kind = value.get("kind", "rating")
    if kind == "rating":
        reply_id, rating, voice = value.get("reply_id"), value.get("rating"), value.get("voice")
        if not isinstance(reply_id, str) or not reply_id:
            return None, "reply_id must be a reply's id"
        if rating is not None and (type(rating) is not int or not 1 <= rating <= 5):
            return None, f"rating must be 1-5 or null, not {json.dumps(rating)}"
        if voice is not None and voice not in VOICES:
            return None, f'voice must be "in", "off" or null, not {json.dumps(voice)}'
        sha = value.get("reply_sha256")
        return Rating(reply_id, rating, voice, sha if isinstance(sha, str) else None, line), None
    if kind == "ab":
        left, right, winner = value.get("left"), value.get("right"), value.get("winner")
        if not isinstance(left, str) or not isinstance(right, str) or not left or left == right:
            return None, "left and right must be two different reply ids"
        if winner not in (left, right, TIE):
            return None, f'winner must be the left id, the right id or "tie", not {json.dumps(winner)}'
        sources = value.get("sources")
        sources = (
            tuple(sources) if isinstance(sources, list) and all(isinstance(s, str) for s in sources) else ()
        )
        shas = value.get("replies_sha256")
        shas = tuple(shas) if isinstance(shas, list) and all(isinstance(s, str) for s in shas) else ()
        return Pick(left, right, winner, sources, shas, line), None
    return None, f'kind must be "rating" or "ab", not {json.dumps(kind)}'


def rating_line(reply: ProbeReply, rating: int | None, voice: str | None) -> dict[str, Any]:
    """The ratings.jsonl object for a reply's judgement (validated as it would be read back)."""
    line = {
        "kind": "rating",
        "reply_id": reply.id,
        "rating": rating,
        "voice": voice,
        "source": reply.source,
        "setting_id": reply.setting_id,
        "reply_sha256": reply_digest(reply.reply),
        "at": _now(),
    }
    _check(line)
    return line


def ab_line(left: ProbeReply, right: ProbeReply, winner: str) -> dict[str, Any]:
    """The ratings.jsonl object for a blind pick: `winner` is left.id, right.id or "tie"."""
    line = {
        "kind": "ab",
        "left": left.id,
        "right": right.id,
        "winner": winner,
        "sources": [left.source, right.source],
        "replies_sha256": [reply_digest(left.reply), reply_digest(right.reply)],
        "at": _now(),
    }
    _check(line)
    return line


def _check(line: dict[str, Any]) -> None:
    item, problem = parse_judgement(line)
    if item is None:
        raise ValueError(problem)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RatingsLog:
    """Appends judgements to ratings.jsonl: one line per write, flushed and fsynced before
    `append` returns, so that a crash loses at most the judgement being written."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / RATINGS_FILE

    def check_writable(self) -> None:
        """UsageError when ratings cannot be written here (checked before the review starts)."""
        folder = self.path.parent
        if self.path.exists():
            ok = os.access(self.path, os.W_OK) and self.path.is_file()
        else:
            ok = os.access(folder, os.W_OK | os.X_OK)
        if not ok:
            raise UsageError(f"{self.path}: cannot write ratings there (no permission)")

    def append(self, line: dict[str, Any]) -> Rating | Pick:
        """Write one judgement line; returns it as read back. OSError when the disk refuses."""
        item, problem = parse_judgement(line)
        if item is None:
            raise ValueError(problem)
        data = json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and _last_byte(self.path, size) != b"\n":
                data = b"\n" + data  # a cut last line (a crash mid-write) stays a line of its own
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return item


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


# ------------------------------------------------------------------------------- summary


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (None without trials)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _group() -> dict[str, Any]:
    return {
        "replies": 0,
        "rated": 0,
        "mean_rating": None,
        "rating_counts": {str(n): 0 for n in range(1, 6)},
        "voice_marked": 0,
        "in_voice": 0,
        "off_voice": 0,
        "in_voice_share": None,
    }


def _count(group: dict[str, Any], rating: Rating | None) -> None:
    group["replies"] += 1
    if rating is None:
        return
    if rating.rating is not None:
        group["rated"] += 1
        group["rating_counts"][str(rating.rating)] += 1
    if rating.voice is not None:
        group["voice_marked"] += 1
        group["in_voice" if rating.voice == "in" else "off_voice"] += 1


def _finish(group: dict[str, Any]) -> None:
    if group["rated"]:
        total = sum(int(n) * c for n, c in group["rating_counts"].items())
        group["mean_rating"] = round(total / group["rated"], 3)
    if group["voice_marked"]:
        group["in_voice_share"] = round(group["in_voice"] / group["voice_marked"], 3)


def _source_rank(source: str) -> tuple[int, str]:
    return (SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER), source)


def current(item: Rating | Pick, replies: dict[str, ProbeReply]) -> bool:
    """Whether a judgement is of the replies now in probe.jsonl (same ids, same text)."""
    if isinstance(item, Rating):
        reply = replies.get(item.reply_id)
        return reply is not None and item.reply_sha256 in (None, reply_digest(reply.reply))
    ids = (item.left, item.right)
    if any(i not in replies for i in ids):
        return False
    return (
        not item.replies_sha256 or tuple(reply_digest(replies[i].reply) for i in ids) == item.replies_sha256
    )


def ratings_summary(folder: Path) -> dict[str, Any]:
    """Mean ratings, counts and in-voice share per source and per setting, and blind A/B win
    rates with a 95% Wilson interval. UsageError for a folder without probe.jsonl.

    Keys (stable; JSON-ready):
      folder, probe, ratings_file: paths as given.
      replies: replies in probe.jsonl; rated: replies with a 1-5 rating; voice_marked: replies
        marked in or off voice; picks: A/B picks counted.
      stale: judgements left out because their reply is gone or its text changed (re-probed).
      problems: "file:line: ..." for each line of probe.jsonl or ratings.jsonl that was skipped.
      by_source: {source: GROUP}; by_setting: {setting_id: {"setting": {...}, "sources":
        {source: GROUP}}}. GROUP = {replies, rated, mean_rating (None when unrated),
        rating_counts {"1".."5"}, voice_marked, in_voice, off_voice, in_voice_share (in_voice /
        voice_marked, None when none marked)}.
      ab: one MATCHUP per pair of sources judged = {sources: [first, other] (first is tuned
        where it takes part), picks, wins: {first: n, other: n}, ties, decided (picks - ties),
        win_rate (first's wins / decided, None when nothing decided), interval ([low, high]:
        95% Wilson on wins / decided, None when nothing decided), confidence: 0.95,
        ties_rule (in words: ties are left out of the rate and the interval)}.
    """
    probe = read_probe(folder)
    ratings = read_ratings(probe.path.parent)
    replies = probe.by_id()
    stale = 0
    judged: dict[str, Rating] = {}
    for rating in ratings.ratings.values():
        if current(rating, replies):
            judged[rating.reply_id] = rating
        else:
            stale += 1

    by_source: dict[str, dict[str, Any]] = {}
    by_setting: dict[str, dict[str, Any]] = {}
    for reply in probe.replies:
        rating = judged.get(reply.id)
        _count(by_source.setdefault(reply.source, _group()), rating)
        setting = by_setting.setdefault(reply.setting_id, {"setting": dict(reply.setting), "sources": {}})
        _count(setting["sources"].setdefault(reply.source, _group()), rating)
    for group in by_source.values():
        _finish(group)
    for setting in by_setting.values():
        for group in setting["sources"].values():
            _finish(group)
        setting["sources"] = dict(sorted(setting["sources"].items(), key=lambda kv: _source_rank(kv[0])))

    matchups: dict[tuple[str, str], dict[str, Any]] = {}
    picks = 0
    for pick in ratings.picks.values():
        if not current(pick, replies):
            stale += 1
            continue
        left, right = replies[pick.left], replies[pick.right]
        if left.source == right.source:
            stale += 1  # not a comparison of sources (the probe changed under the pick)
            continue
        first, other = sorted((left.source, right.source), key=_source_rank)
        matchup = matchups.setdefault(
            (first, other),
            {"sources": [first, other], "picks": 0, "wins": {first: 0, other: 0}, "ties": 0},
        )
        picks += 1
        matchup["picks"] += 1
        if pick.winner == TIE:
            matchup["ties"] += 1
        else:
            matchup["wins"][replies[pick.winner].source] += 1
    ab = []
    for (first, _other), matchup in sorted(matchups.items(), key=lambda kv: [_source_rank(s) for s in kv[0]]):
        decided = matchup["picks"] - matchup["ties"]
        interval = wilson_interval(matchup["wins"][first], decided)
        matchup.update(
            decided=decided,
            win_rate=round(matchup["wins"][first] / decided, 3) if decided else None,
            interval=[round(interval[0], 3), round(interval[1], 3)] if interval else None,
            confidence=0.95,
            ties_rule="ties are left out of the win rate and its interval",
        )
        ab.append(matchup)

    return {
        "folder": str(probe.path.parent),
        "probe": str(probe.path),
        "ratings_file": str(ratings.path),
        "replies": len(probe.replies),
        "rated": sum(g["rated"] for g in by_source.values()),
        "voice_marked": sum(g["voice_marked"] for g in by_source.values()),
        "picks": picks,
        "stale": stale,
        "problems": probe.problems + ratings.problems,
        "by_source": dict(sorted(by_source.items(), key=lambda kv: _source_rank(kv[0]))),
        "by_setting": by_setting,
        "ab": ab,
    }


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def _row(source: str, setting: str, group: dict[str, Any]) -> list[str]:
    counts = group["rating_counts"]
    mean = group["mean_rating"]
    voice = (
        f"{group['in_voice']} of {group['voice_marked']} ({_percent(group['in_voice_share'])})"
        if group["voice_marked"]
        else "-"
    )
    return [
        source,
        setting,
        str(group["replies"]),
        str(group["rated"]),
        "-" if mean is None else f"{mean:.2f}",
        " ".join(str(counts[str(n)]) for n in range(1, 6)),
        voice,
    ]


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    ]


def matchup_text(matchup: dict[str, Any]) -> str:
    first, other = matchup["sources"]
    ties = matchup["ties"]
    tie_text = f"{ties} tie{'s' if ties != 1 else ''}, left out" if ties else "no ties"
    if not matchup["decided"]:
        picks = matchup["picks"]
        return f"{first} vs {other}: {picks} pick{'s' if picks != 1 else ''}, all ties; no win rate"
    low, high = matchup["interval"]
    return (
        f"{first} vs {other}: {first} won {matchup['wins'][first]} of {matchup['decided']} decided picks, "
        f"{_percent(matchup['win_rate'])} (95% Wilson interval {_percent(low)}-{_percent(high)}); {tie_text}"
    )


def format_ratings(summary: dict[str, Any]) -> str:
    """A short table of `ratings_summary`: one row per source, then per setting and source."""
    picks = summary["picks"]
    lines = [
        (
            f"Ratings in {summary['ratings_file']}: {summary['rated']} of {summary['replies']} replies rated, "
            f"{summary['voice_marked']} marked for voice, {picks} blind A/B pick{'s' if picks != 1 else ''}"
        )
    ]
    header = ["source", "setting", "replies", "rated", "mean", "1 2 3 4 5", "in voice"]
    rows = [header]
    for source, group in summary["by_source"].items():
        rows.append(_row(source, "all", group))
    if len(summary["by_setting"]) > 1:
        for setting_id, setting in summary["by_setting"].items():
            for source, group in setting["sources"].items():
                rows.append(_row(source, setting_id, group))
    if len(rows) > 1:
        lines += ["", *_table(rows, right={2, 3, 4})]
    if summary["ab"]:
        lines += ["", "Blind A/B:"]
        lines += [f"  {matchup_text(m)}" for m in summary["ab"]]
    if summary["stale"]:
        n = summary["stale"]
        lines += [
            "",
            (
                f"{n} judgement{'s' if n != 1 else ''} not counted: the reply is gone from probe.jsonl or "
                "its text changed (a re-probe into the same folder)"
            ),
        ]
    if summary["problems"]:
        n = len(summary["problems"])
        lines += ["", f"{n} line{'s' if n != 1 else ''} skipped:"]
        lines += [f"  {p}" for p in summary["problems"][:5]]
        if n > 5:
            lines.append(f"  … and {n - 5} more")
    return "\n".join(lines)
