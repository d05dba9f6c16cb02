"""The ratings summary of a probe folder (`intone probe --ratings DIR`, the review's `s`): mean
ratings and in-voice shares per source and setting, and blind A/B win rates with an interval."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from intone.schemas.probe_ratings import TIE, Rating, current, read_ratings
from intone.schemas.probe_reply import read_probe

Z95 = 1.959963984540054
"""The normal quantile for a two-sided 95% interval."""
SOURCE_ORDER = ("tuned", "compare", "base")
"""The source named first in a matchup: the win rate is the tuned run's over the other."""


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
