"""probe.jsonl and ratings.jsonl: reading with per-line problems, appending, and the summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intone.errors import UsageError
from intone.schemas.probe import (
    REPLY_ADAPTER,
    RatingsLog,
    ab_line,
    format_ratings,
    parse_judgement,
    rating_line,
    ratings_summary,
    read_probe,
    read_ratings,
    read_thresholds,
    reply_digest,
    wilson_interval,
)


def reply(prompt: int, source: str, setting: str = "t0.6", sample: int = 0, text: str | None = None, **extra):
    line = {
        "id": f"p{prompt}-{setting}-{source}-s{sample}",
        "prompt_index": prompt,
        "messages": [{"role": "user", "content": f"prompt {prompt}"}],
        "source": source,
        "setting_id": setting,
        "setting": {"temperature": 0.6},
        "sample": sample,
        "reply": text if text is not None else f"{source} says {prompt} {setting} {sample}",
    }
    line.update(extra)
    return line


def write(folder: Path, lines: list, name: str = "probe.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    (folder / name).write_text(body, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ probe.jsonl


def test_minimal_and_full_lines_read_and_unknown_keys_are_kept(tmp_path: Path) -> None:
    full = reply(
        0,
        "tuned",
        where="eval.jsonl:1",
        reference=None,
        run="runs/a",
        seed=7,
        tokens=9,
        words=4,
        stopped=False,
        loop_share=0.5,
        distinct2=0.4,
        voice_distance=None,
        findings=[{"code": "IN301", "name": "assistant-boilerplate", "message": "m", "extra": 1}],
        copy={"overlap": 0.9, "line": 4},
        nearest=[{"line": 4, "overlap": 0.9, "answer": "a"}],
        expect={"passed": False, "failed": ["mentions x"]},
        brand_new={"k": [1]},
    )
    minimal = {"id": "m", "messages": [{"role": "user", "content": "hi"}], "reply": "yo"}
    nulls = {
        **minimal,
        "id": "n",
        "findings": None,
        "nearest": None,
        "setting": None,
        "source": None,
        "expect": {"passed": None, "failed": None},
        "copy": None,
    }
    probe = read_probe(write(tmp_path, [full, minimal, nulls]))
    assert probe.problems == []
    a, b, c = probe.replies
    assert a.stopped is False and a.copy_.line == 4 and a.expect.failed == ["mentions x"]
    assert a.model_extra == {"brand_new": {"k": [1]}}
    assert (b.source, b.setting_id, b.sample, b.findings, b.copy_, b.expect) == (
        "tuned",
        "default",
        0,
        [],
        None,
        None,
    )
    assert c.findings == [] and c.expect.failed == [] and c.setting == {}
    assert b.prompt == "hi"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('{"messages": [{"role": "user", "content": "x"}], "reply": "y"}', "id is missing"),
        ('{"id": "a", "messages": [{"role": "user", "content": "x"}], "reply": 3}', "reply must be text"),
        ('{"id": "a", "messages": [], "reply": "y"}', "messages must not be empty"),
        (
            '{"id": "a", "messages": [{"role": "bot", "content": "x"}], "reply": "y"}',
            "messages[0].role must be one of",
        ),
        (
            '{"id": "a", "messages": [{"role": "assistant", "content": "x"}], "reply": "y"}',
            "must end with a user turn",
        ),
        (
            '{"id": "a", "messages": [{"role": "user", "content": "x"}], "reply": "y", "copy": {"overlap": "lots"}}',
            "copy.overlap must be a number",
        ),
    ],
)
def test_a_bad_line_is_named_by_file_and_line_and_skipped(tmp_path: Path, line: str, message: str) -> None:
    folder = write(tmp_path, [reply(0, "tuned"), line, reply(1, "tuned")])
    probe = read_probe(folder)
    assert [r.id for r in probe.replies] == ["p0-t0.6-tuned-s0", "p1-t0.6-tuned-s0"]
    assert len(probe.problems) == 1
    assert probe.problems[0].startswith(f"{folder / 'probe.jsonl'}:2: ") and message in probe.problems[0]


def test_duplicate_ids_bom_blank_lines_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "probe.jsonl"
    first = json.dumps(reply(0, "tuned")).encode()
    path.write_bytes(b"\xef\xbb\xbf" + first + b"\n\n" + first + b"\n" + b'{"id": "\xff"}\n')
    probe = read_probe(tmp_path)
    assert len(probe.replies) == 1
    assert "probe.jsonl:3: id 'p0-t0.6-tuned-s0' is already on line 1" in probe.problems[0]
    assert "probe.jsonl:4: not UTF-8" in probe.problems[1]


def test_folder_without_probe_jsonl_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no probe.jsonl in this folder"):
        read_probe(tmp_path)
    with pytest.raises(UsageError, match="no such folder"):
        read_probe(tmp_path / "nope")
    with pytest.raises(UsageError, match="no probe.jsonl"):
        ratings_summary(tmp_path)
    write(tmp_path, [reply(0, "tuned")])
    assert len(read_probe(tmp_path / "probe.jsonl").replies) == 1  # the file itself is accepted


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_never_crash_the_readers(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "probe.jsonl").write_bytes(data)
    (tmp_path / "ratings.jsonl").write_bytes(data)
    probe = read_probe(tmp_path)
    ratings = read_ratings(tmp_path)
    assert all(p.startswith(str(tmp_path)) for p in probe.problems + ratings.problems)
    format_ratings(ratings_summary(tmp_path))


# ------------------------------------------------------------------------------ ratings.jsonl


def test_the_last_judgement_counts_and_every_line_is_kept(tmp_path: Path) -> None:
    write(tmp_path, [reply(0, "tuned"), reply(0, "base")])
    tuned, base = read_probe(tmp_path).replies
    log = RatingsLog(tmp_path)
    log.append(rating_line(tuned, 2, None))
    log.append(rating_line(tuned, 5, "in"))
    log.append(ab_line(tuned, base, tuned.id))
    log.append(ab_line(base, tuned, "tie"))  # the same pair, shown the other way round
    ratings = read_ratings(tmp_path)
    assert ratings.lines == 4 and len((tmp_path / "ratings.jsonl").read_text().splitlines()) == 4
    assert ratings.ratings[tuned.id].rating == 5 and ratings.ratings[tuned.id].voice == "in"
    (pick,) = ratings.picks.values()
    assert (pick.left, pick.winner, pick.sources) == (base.id, "tie", ("base", "tuned"))
    assert ratings.ratings[tuned.id].reply_sha256 == reply_digest(tuned.reply)


def test_a_cut_last_line_is_reported_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    write(tmp_path, [reply(0, "tuned")])
    (tuned,) = read_probe(tmp_path).replies
    (tmp_path / "ratings.jsonl").write_bytes(b'{"kind": "rating", "reply_id": "p0-t0.6-tu')
    RatingsLog(tmp_path).append(rating_line(tuned, 3, "off"))
    ratings = read_ratings(tmp_path)
    assert ratings.ratings[tuned.id].rating == 3
    assert len(ratings.problems) == 1 and "ratings.jsonl:1: not valid JSON" in ratings.problems[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"reply_id": "a", "rating": 6}, "rating must be 1-5 or null, not 6"),
        ({"reply_id": "a", "rating": True}, "rating must be 1-5 or null, not true"),
        ({"reply_id": "a", "voice": "maybe"}, 'voice must be "in", "off" or null'),
        ({"rating": 3}, "reply_id must be"),
        ({"kind": "ab", "left": "a", "right": "a", "winner": "a"}, "two different reply ids"),
        ({"kind": "ab", "left": "a", "right": "b", "winner": "c"}, "winner must be"),
        ({"kind": "star"}, 'kind must be "rating" or "ab"'),
    ],
)
def test_bad_judgements_are_refused_with_a_reason(value: dict, message: str) -> None:
    item, problem = parse_judgement(value)
    assert item is None and message in problem


def test_a_judgement_without_kind_is_a_rating_and_extra_keys_are_ignored() -> None:
    item, problem = parse_judgement({"reply_id": "a", "rating": 4, "voice": None, "who": "me"})
    assert problem is None and item.rating == 4


def test_the_writer_refuses_what_the_reader_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        RatingsLog(tmp_path).append({"kind": "rating", "reply_id": "a", "rating": 0})
    assert not (tmp_path / "ratings.jsonl").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_folder_is_a_usage_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(UsageError, match="cannot write ratings"):
            RatingsLog(tmp_path).check_writable()
    finally:
        tmp_path.chmod(0o755)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(), st.one_of(st.none(), st.integers(1, 5)), st.sampled_from([None, "in", "off"]))
def test_rating_lines_round_trip(tmp_path: Path, text: str, rating, voice) -> None:
    target = REPLY_ADAPTER.validate_python(reply(0, "tuned", text=text, id=text or "x"))
    (tmp_path / "ratings.jsonl").unlink(missing_ok=True)
    written = RatingsLog(tmp_path).append(rating_line(target, rating, voice))
    back = read_ratings(tmp_path).ratings[target.id]
    assert (back.reply_id, back.rating, back.voice, back.reply_sha256) == (
        written.reply_id,
        rating,
        voice,
        reply_digest(text),
    )


# ------------------------------------------------------------------------------ the summary


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and round(high, 3) == 0.434
    assert wilson_interval(0, 0) is None


def test_summary_per_source_and_setting_with_ab_win_rate_and_ties(tmp_path: Path) -> None:
    lines = [
        reply(p, s, setting) for p in range(4) for setting in ("t0.6", "t0.9") for s in ("tuned", "base")
    ]
    write(tmp_path, lines)
    replies = read_probe(tmp_path).by_id()
    log = RatingsLog(tmp_path)
    for p in range(4):
        log.append(rating_line(replies[f"p{p}-t0.6-tuned-s0"], 4 + p % 2, "in"))
        log.append(rating_line(replies[f"p{p}-t0.6-base-s0"], 2, "off" if p else "in"))
    log.append(rating_line(replies["p0-t0.9-tuned-s0"], None, "off"))  # voice only
    for p, winner in enumerate(["tuned", "tuned", "base", "tie"]):
        tuned, base = replies[f"p{p}-t0.6-tuned-s0"], replies[f"p{p}-t0.6-base-s0"]
        left, right = (tuned, base) if p % 2 else (base, tuned)
        log.append(
            ab_line(left, right, "tie" if winner == "tie" else (tuned if winner == "tuned" else base).id)
        )

    summary = ratings_summary(tmp_path)
    assert json.loads(json.dumps(summary)) == summary  # JSON-ready
    tuned, base = summary["by_source"]["tuned"], summary["by_source"]["base"]
    assert (tuned["replies"], tuned["rated"], tuned["mean_rating"]) == (8, 4, 4.5)
    assert tuned["rating_counts"] == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 2}
    assert (tuned["voice_marked"], tuned["in_voice"], tuned["in_voice_share"]) == (5, 4, 0.8)
    assert (base["mean_rating"], base["in_voice_share"]) == (2.0, 0.25)
    t09 = summary["by_setting"]["t0.9"]["sources"]["tuned"]
    assert (t09["rated"], t09["mean_rating"], t09["voice_marked"]) == (0, None, 1)
    assert summary["by_setting"]["t0.6"]["setting"] == {"temperature": 0.6}
    (ab,) = summary["ab"]
    assert ab["sources"] == ["tuned", "base"]
    assert (ab["picks"], ab["wins"], ab["ties"], ab["decided"]) == (4, {"tuned": 2, "base": 1}, 1, 3)
    assert ab["win_rate"] == 0.667
    low, high = wilson_interval(2, 3)
    assert ab["interval"] == [round(low, 3), round(high, 3)]
    assert (summary["replies"], summary["rated"], summary["picks"], summary["stale"]) == (16, 8, 4, 0)

    text = format_ratings(summary)
    assert "8 of 16 replies rated" in text and "4 blind A/B picks" in text
    assert "tuned vs base: tuned won 2 of 3 decided picks, 67% (95% Wilson interval" in text
    assert "1 tie, left out" in text
    rows = {tuple(line.split()[:2]): line for line in text.splitlines() if line.startswith(("tuned", "base"))}
    assert "4.50" in rows[("tuned", "all")] and "4 of 5 (80%)" in rows[("tuned", "all")]
    assert ("base", "t0.9") in rows


def test_judgements_of_replaced_replies_are_stale_not_counted(tmp_path: Path) -> None:
    write(tmp_path, [reply(0, "tuned"), reply(0, "base")])
    tuned, base = read_probe(tmp_path).replies
    log = RatingsLog(tmp_path)
    log.append(rating_line(tuned, 5, "in"))
    log.append(ab_line(tuned, base, tuned.id))
    log.append(rating_line(base, 1, None))
    write(tmp_path, [reply(0, "tuned", text="a new reply after a re-probe"), reply(0, "base")])
    summary = ratings_summary(tmp_path)
    assert summary["stale"] == 2 and summary["rated"] == 1 and summary["ab"] == []
    assert "2 judgements not counted" in format_ratings(summary)


def test_all_ties_and_nothing_rated(tmp_path: Path) -> None:
    write(tmp_path, [reply(0, "tuned"), reply(0, "compare")])
    tuned, other = read_probe(tmp_path).replies
    empty = format_ratings(ratings_summary(tmp_path))
    assert "0 of 2 replies rated" in empty
    RatingsLog(tmp_path).append(ab_line(other, tuned, "tie"))
    summary = ratings_summary(tmp_path)
    (ab,) = summary["ab"]
    assert ab["sources"] == ["tuned", "compare"] and ab["win_rate"] is None and ab["interval"] is None
    assert "tuned vs compare: 1 pick, all ties; no win rate" in format_ratings(summary)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, (0.2, 0.6, None)),
        ("not json", (0.2, 0.6, None)),
        ('{"thresholds": [1]}', (0.2, 0.6, None)),
        ('{"thresholds": {"loop_share": 0.3, "copy_overlap": true, "voice_flag": 1.25}}', (0.3, 0.6, 1.25)),
        ('{"intone_probe": 1, "thresholds": {"loop_share": NaN, "voice_flag": "x"}}', (0.2, 0.6, None)),
    ],
)
def test_thresholds_come_from_the_probes_summary_json(
    tmp_path: Path, body: str | None, expected: tuple
) -> None:
    if body is not None:
        (tmp_path / "summary.json").write_text(body)
    cut = read_thresholds(tmp_path)
    assert (cut.loop_share, cut.copy_overlap, cut.voice_flag) == expected
