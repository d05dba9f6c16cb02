"""A probe folder: the replies `intone probe` wrote (probe.jsonl) and the ratings given to them.

No textual, no torch: `intone author --review DIR` and `intone probe --ratings DIR` both read
through here. This module is the one name to import them by; the work is done in three modules
below it, each importing only the ones before it:

- `probe_reply`: probe.jsonl's replies (`ProbeReply`), read with a problem per bad line, and
  summary.json's thresholds.
- `probe_ratings`: ratings.jsonl, the append-only judgements (its format is described there).
- `probe_summary`: mean ratings, voice shares and blind A/B win rates, and their table.
"""

from __future__ import annotations

from intone.schemas.probe_ratings import (
    RATINGS_FILE,
    TIE,
    VOICES,
    Pick,
    Rating,
    Ratings,
    RatingsLog,
    ab_line,
    current,
    pair_key,
    parse_judgement,
    rating_line,
    read_ratings,
)
from intone.schemas.probe_reply import (
    PROBE_FILE,
    REPLY_ADAPTER,
    SUMMARY_FILE,
    Copy,
    Expect,
    Finding,
    Nearest,
    ProbeFile,
    ProbeMessage,
    ProbeReply,
    Thresholds,
    json_lines,
    probe_file,
    read_probe,
    read_thresholds,
    reply_digest,
)
from intone.schemas.probe_summary import (
    SOURCE_ORDER,
    Z95,
    format_ratings,
    matchup_text,
    ratings_summary,
    wilson_interval,
)

__all__ = [
    "PROBE_FILE",
    "RATINGS_FILE",
    "REPLY_ADAPTER",
    "SOURCE_ORDER",
    "SUMMARY_FILE",
    "TIE",
    "VOICES",
    "Z95",
    "Copy",
    "Expect",
    "Finding",
    "Nearest",
    "Pick",
    "ProbeFile",
    "ProbeMessage",
    "ProbeReply",
    "Rating",
    "Ratings",
    "RatingsLog",
    "Thresholds",
    "ab_line",
    "current",
    "format_ratings",
    "json_lines",
    "matchup_text",
    "pair_key",
    "parse_judgement",
    "probe_file",
    "rating_line",
    "ratings_summary",
    "read_probe",
    "read_ratings",
    "read_thresholds",
    "reply_digest",
    "wilson_interval",
]
