"""ratings.jsonl: the judgements given to a probe's replies, read back and appended.

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

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intone.errors import UsageError
from intone.schemas.probe_reply import ProbeReply, json_lines, reply_digest

RATINGS_FILE = "ratings.jsonl"
VOICES = ("in", "off")
TIE = "tie"


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
        for number, value, problem in json_lines(path):
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
