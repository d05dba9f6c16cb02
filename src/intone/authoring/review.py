"""Reviewing a probe's replies: which reply is shown, in what order, blind A/B pairs, judgements
and adopting a reply as a new example. No textual here: the review screen draws this state and
the tests drive it without a terminal.

Every judgement is appended to DIR/ratings.jsonl (flushed and fsynced) before the state changes,
so what is shown as rated is on disk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from intone.errors import UsageError
from intone.schemas.probe import (
    SOURCE_ORDER,
    TIE,
    Pick,
    ProbeFile,
    ProbeReply,
    Rating,
    Ratings,
    RatingsLog,
    Thresholds,
    ab_line,
    current,
    pair_key,
    rating_line,
    read_probe,
    read_ratings,
    read_thresholds,
)

ADOPTED_TAG = "from-probe"

Level = Literal["error", "warning", "info"]
Mode = Literal["replies", "ab"]
Order = Literal["prompt", "flags"]


@dataclass(frozen=True)
class Flag:
    """One thing to know about a reply, in words, with how much it matters."""

    text: str
    level: Level


@dataclass(frozen=True)
class Pair:
    """Two replies to the same prompt, setting and sample from different sources, in the random
    order they are shown (left is "A", right is "B"); the sources are not shown."""

    left: ProbeReply
    right: ProbeReply

    @property
    def key(self) -> frozenset[str]:
        return pair_key(self.left.id, self.right.id)


DEFAULT_THRESHOLDS = Thresholds()


def flags(reply: ProbeReply, cut: Thresholds = DEFAULT_THRESHOLDS) -> list[Flag]:
    """What the probe measured on a reply, worst first, judged by the probe's own thresholds."""
    out: list[Flag] = []
    if reply.stopped is False:
        tokens = f" after {reply.tokens} tokens" if reply.tokens is not None else ""
        out.append(Flag(f"did not stop: hit the token limit{tokens} (cut off)", "error"))
    if reply.expect is not None:
        out.extend(Flag(f"expect failed: {failed}", "error") for failed in reply.expect.failed)
    for finding in reply.findings:
        name = " ".join(p for p in (finding.code, finding.name) if p)
        out.append(Flag(f"{name}: {finding.message}" if name else finding.message, "warning"))
    if reply.loop_share is not None:
        looping = reply.loop_share >= cut.loop_share
        out.append(
            Flag(
                f"loop share {reply.loop_share:.2f}: repeated word 4-grams (loop >= {cut.loop_share:.2f})",
                "warning" if looping else "info",
            )
        )
    copy = reply.copy_
    if copy is not None and copy.line is not None:  # the probe names a line only for a copy
        out.append(
            Flag(
                f"copy of training line {copy.line}: overlap {copy.overlap:.2f} (copy >= {cut.copy_overlap:.2f})",
                "warning",
            )
        )
    elif copy is not None:
        out.append(Flag(f"largest overlap with a training answer {copy.overlap:.2f} (not a copy)", "info"))
    if reply.voice_distance is not None:
        off = cut.voice_flag is not None and reply.voice_distance >= cut.voice_flag
        bar = f" (training p90 {cut.voice_flag:.2f})" if cut.voice_flag is not None else ""
        out.append(
            Flag(
                f"voice distance {reply.voice_distance:.2f} from the training profile{bar}",
                "warning" if off else "info",
            )
        )
    if reply.distinct2 is not None:
        out.append(Flag(f"distinct-2 {reply.distinct2:.2f}", "info"))
    if reply.expect is not None and reply.expect.passed:
        out.append(Flag("expect checks passed", "info"))
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda f: rank[f.level])


def flag_count(reply: ProbeReply, cut: Thresholds = DEFAULT_THRESHOLDS) -> int:
    """Errors and warnings among the reply's flags (the "flags first" order)."""
    return sum(f.level != "info" for f in flags(reply, cut))


def adopted_record(reply: ProbeReply) -> dict[str, Any]:
    """The reply as a new example: the prompt conversation, the reply as the assistant turn,
    tagged `from-probe`, with a note saying where it came from."""
    messages = [{"role": m.role, "content": m.content} for m in reply.messages]
    messages.append({"role": "assistant", "content": reply.reply.strip()})
    where = ", ".join(
        part
        for part in (
            f"run {reply.run}" if reply.run else "",
            f"setting {reply.setting_id}",
            f"seed {reply.seed}" if reply.seed is not None else "",
        )
        if part
    )
    return {
        "messages": messages,
        "tags": [ADOPTED_TAG],
        "notes": f"adopted from probe reply {reply.id} ({where})",
    }


def make_pairs(replies: list[ProbeReply], rng: random.Random) -> list[Pair]:
    """Blind A/B pairs: for each prompt, setting and sample, the tuned reply against each other
    source's (or, with no tuned reply, the first two sources), each pair in a random order."""
    groups: dict[tuple[Any, ...], dict[str, ProbeReply]] = {}
    for reply in replies:
        prompt = (
            reply.prompt_index
            if reply.prompt_index is not None
            else tuple((m.role, m.content) for m in reply.messages)
        )
        groups.setdefault((prompt, reply.setting_id, reply.sample), {}).setdefault(reply.source, reply)
    pairs = []
    for by_source in groups.values():
        sources = sorted(by_source, key=lambda s: (SOURCE_ORDER.index(s) if s in SOURCE_ORDER else 9, s))
        if len(sources) < 2:
            continue
        first, others = sources[0], sources[1:]
        if first != "tuned":
            others = others[:1]
        for other in others:
            a, b = by_source[first], by_source[other]
            pairs.append(Pair(a, b) if rng.random() < 0.5 else Pair(b, a))
    return pairs


class Review:
    """The state of one review: replies, order, position, mode, and the judgements so far."""

    def __init__(
        self, probe: ProbeFile, ratings: Ratings, log: RatingsLog, *, seed: int | None = None
    ) -> None:
        self.folder = probe.path.parent
        self.probe = probe
        self.replies = probe.replies
        self.by_id = probe.by_id()
        self.log = log
        self.problems = probe.problems + ratings.problems
        self.ratings: dict[str, Rating] = {k: r for k, r in ratings.ratings.items() if current(r, self.by_id)}
        self.picks: dict[frozenset[str], Pick] = {
            k: p for k, p in ratings.picks.items() if current(p, self.by_id)
        }
        self.stale = len(ratings.ratings) - len(self.ratings) + len(ratings.picks) - len(self.picks)
        self.thresholds = read_thresholds(self.folder)
        """The probe's own cut-offs (DIR/summary.json), so that flags here match its report."""
        self.pairs = make_pairs(self.replies, random.Random(seed))
        self.mode: Mode = "replies"
        self.order: Order = "prompt"
        self._ordered = list(self.replies)
        self.index = 0
        self.pair_index = 0

    @classmethod
    def open(cls, folder: str | Path, *, seed: int | None = None) -> Review:
        """The review of a probe folder. UsageError when it has no probe.jsonl, no readable reply,
        or ratings cannot be written there."""
        probe = read_probe(folder)
        if not probe.replies:
            why = f": {probe.problems[0]}" if probe.problems else " (the file is empty)"
            raise UsageError(f"{probe.path}: no reply to review{why}")
        log = RatingsLog(probe.path.parent)
        log.check_writable()
        return cls(probe, read_ratings(probe.path.parent), log, seed=seed)

    # ------------------------------------------------------------------ where we are

    @property
    def current(self) -> ProbeReply:
        return self._ordered[self.index]

    @property
    def current_pair(self) -> Pair | None:
        return self.pairs[self.pair_index] if self.pairs else None

    @property
    def position(self) -> tuple[int, int]:
        """(1-based position, how many) in the current mode."""
        if self.mode == "ab":
            return self.pair_index + 1, len(self.pairs)
        return self.index + 1, len(self._ordered)

    def step(self, delta: int) -> None:
        """Next (+1) or previous (-1), wrapping around."""
        if self.mode == "ab":
            if self.pairs:
                self.pair_index = (self.pair_index + delta) % len(self.pairs)
        else:
            self.index = (self.index + delta) % len(self._ordered)

    def next_unjudged(self) -> bool:
        """Go to the next reply without a rating (or pair without a pick); False when none is left."""
        if self.mode == "ab":
            n = len(self.pairs)
            for step in range(1, n + 1):
                i = (self.pair_index + step) % n
                if self.pairs[i].key not in self.picks:
                    self.pair_index = i
                    return True
            return False
        n = len(self._ordered)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            rating = self.ratings.get(self._ordered[i].id)
            if rating is None or rating.rating is None:
                self.index = i
                return True
        return False

    def toggle_order(self) -> Order:
        """Prompt order (as the probe wrote them) or most flags first; stays on the same reply."""
        shown = self.current
        self.order = "flags" if self.order == "prompt" else "prompt"
        if self.order == "flags":
            count = {r.id: flag_count(r, self.thresholds) for r in self.replies}
            self._ordered = sorted(self.replies, key=lambda r: -count[r.id])  # stable: prompt order within
        else:
            self._ordered = list(self.replies)
        self.index = self._ordered.index(shown)
        return self.order

    def toggle_mode(self) -> Mode:
        """Single replies, or blind A/B pairs (only when the probe has two sources to compare)."""
        if self.mode == "ab" or not self.pairs:
            self.mode = "replies"
        else:
            self.mode = "ab"
        return self.mode

    # ------------------------------------------------------------------ judgements

    def rating_of(self, reply: ProbeReply) -> Rating | None:
        return self.ratings.get(reply.id)

    def pick_of(self, pair: Pair) -> Pick | None:
        return self.picks.get(pair.key)

    def rate(self, value: int | None) -> Rating:
        """Rate the current reply 1-5 (None clears the rating); its voice mark is kept."""
        reply = self.current
        old = self.rating_of(reply)
        return self._judge(reply, value, old.voice if old else None)

    def mark(self, voice: str | None) -> Rating:
        """Mark the current reply in voice ("in"), off voice ("off") or neither (None)."""
        reply = self.current
        old = self.rating_of(reply)
        return self._judge(reply, old.rating if old else None, voice)

    def clear(self) -> Rating:
        return self._judge(self.current, None, None)

    def _judge(self, reply: ProbeReply, rating: int | None, voice: str | None) -> Rating:
        item = self.log.append(rating_line(reply, rating, voice))  # on disk first
        assert isinstance(item, Rating)
        self.ratings[reply.id] = item
        return item

    def pick(self, side: Literal["left", "right", "tie"]) -> Pick:
        """Record the blind pick for the current pair: the left ("A") or right ("B") reply, or a tie."""
        pair = self.current_pair
        if pair is None:
            raise ValueError("no pair to pick from")
        winner = {"left": pair.left.id, "right": pair.right.id, "tie": TIE}[side]
        item = self.log.append(ab_line(pair.left, pair.right, winner))
        assert isinstance(item, Pick)
        self.picks[pair.key] = item
        return item

    def picked_side(self, pair: Pair) -> str | None:
        """ "left", "right" or "tie" for a pair already picked (whatever order it was shown in then)."""
        pick = self.pick_of(pair)
        if pick is None:
            return None
        if pick.winner == TIE:
            return "tie"
        return "left" if pick.winner == pair.left.id else "right"

    def counts(self) -> tuple[int, int, int]:
        """(replies rated 1-5, replies marked for voice, pairs picked) among those shown here."""
        rated = sum(r.rating is not None for r in self.ratings.values())
        voiced = sum(r.voice is not None for r in self.ratings.values())
        picked = sum(p.key in self.picks for p in self.pairs)
        return rated, voiced, picked

    def flags(self, reply: ProbeReply) -> list[Flag]:
        return flags(reply, self.thresholds)

    def adoptable(self) -> ProbeReply | None:
        """The reply `adopt` takes: the current one, or in blind A/B the one picked for the current
        pair (None before a pick, or for a tie)."""
        if self.mode != "ab":
            return self.current
        pair = self.current_pair
        side = self.picked_side(pair) if pair is not None else None
        return {"left": pair.left, "right": pair.right}.get(side) if pair is not None and side else None

    def adopt(self) -> dict[str, Any]:
        """The reply `adoptable` names as a new example (see `adopted_record`)."""
        reply = self.adoptable()
        if reply is None:
            raise ValueError("pick A or B first: the reply adopted in blind A/B is the one picked")
        return adopted_record(reply)
