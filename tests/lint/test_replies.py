"""Reply measures on known texts: loops, copies, length collapse, expect, voice, rule findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.lint.profile import DatasetProfile
from intone.lint.replies import (
    COPY_OVERLAP,
    LOOP_SHARE,
    Expect,
    ReplyRules,
    TrainingAnswers,
    TrainingVoice,
    check_expect,
    distinct_n,
    gap_closed,
    is_copy,
    loop_share,
    opener_findings,
    reply_findings,
)
from intone.lint.replies_stats import band, band_share, ks_distance, pearson, spearman
from intone.schemas.jsonl import read_jsonl_bytes

PERSONA = Path(__file__).resolve().parents[2] / "data" / "persona.jsonl"
PROSE = ("Sit wherever the stool will have you. That one leans, but only politically. The kettle's on, "
         "and if you want a biscuit you'll have to fight the cat for it.")
LOOP = "I love the garden. I love the garden. I love the garden. I love the garden. I love the garden so."


def profile_of(answers: list[str]) -> DatasetProfile:
    lines = b"".join(
        json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": a}]}).encode()
        + b"\n" for i, a in enumerate(answers))
    profile = DatasetProfile(path="train.jsonl")
    for line in read_jsonl_bytes(lines):
        profile.add(line)
    return profile


@pytest.fixture(scope="module")
def persona() -> DatasetProfile:
    profile = DatasetProfile(path=str(PERSONA))
    for line in read_jsonl_bytes(PERSONA.read_bytes()):
        if line.record is not None:
            profile.add(line)
    return profile


def test_a_loop_is_detected_and_prose_is_not():
    assert loop_share(LOOP) >= 0.5 > LOOP_SHARE
    assert loop_share(PROSE) == 0.0
    assert distinct_n(LOOP) < 0.4 < distinct_n(PROSE) == 1.0
    assert loop_share("too short") == 0.0 and distinct_n("") == 0.0 and distinct_n("one") == 1.0
    # A loop of one long sentence, as a 270M model repeats itself at temperature 0.
    sentence = "The best way to keep the slugs off your lettuces is a ring of crushed eggshell. "
    assert loop_share(sentence * 3) > LOOP_SHARE


def test_a_copied_training_answer_is_detected():
    answers = [PROSE, "Slugs are gardeners too, in their slimy way, and they mostly eat what is already rotting.",
               "Tea goes cloudy when the tannins clump together as it cools; hard water makes it worse."]
    index = TrainingAnswers(profile_of(answers))
    copied = "Sit wherever the stool will have you. That one leans, but only politically. The kettle's on."
    near = index.nearest(copied)
    assert near[0].line == 1 and near[0].overlap == 1.0 and is_copy(copied, near)
    assert near[0].overlap >= COPY_OVERLAP
    fresh = "My favourite game is Keepy Uppy with a balloon, and I always lose to the dog."
    near = index.nearest(fresh)
    assert not is_copy(fresh, near)
    assert all(n.overlap < 0.2 for n in near)
    # A short reply is never a copy, even when it is all inside one answer.
    assert not is_copy("Sit wherever the stool", index.nearest("Sit wherever the stool"))
    assert index.nearest("") == []


def test_a_length_collapse_shows_as_a_flat_correlation():
    references = [4, 9, 15, 30, 45, 60, 80, 120, 150, 200]
    collapsed = [61, 58, 63, 60, 59, 62, 60, 57, 61, 59]  # every answer about 60 words
    following = [6, 12, 14, 35, 40, 66, 75, 110, 160, 190]
    assert abs(pearson(references, collapsed)) < 0.3
    assert abs(spearman(references, collapsed)) < 0.3
    assert pearson(references, following) > 0.95 and spearman(references, following) > 0.95
    assert pearson(references, [60] * 10) == 0.0  # no variation at all: no relation
    assert pearson([1, 2], [1, 2]) is None  # too few prompts to say


def test_band_and_ks():
    training = list(range(50, 81))
    limits = band(training)
    assert limits == pytest.approx((53.0, 77.0))
    assert band_share([55, 60, 70, 10, 200], limits) == pytest.approx(0.6)
    assert ks_distance(training, training) == 0.0
    assert ks_distance(training, [5, 6, 7]) == 1.0
    assert 0 < ks_distance(training, [60, 70, 200]) < 1
    assert band([]) is None and ks_distance([], [1]) is None


def test_expect_shape_and_checks():
    expect = Expect.parse({"mention": ["Keepy Uppy"], "avoid": ["as an AI"], "words": [5, 30]})
    ok, failed = check_expect("My favourite is keepy-uppy, obviously, with the big red balloon.", expect)
    assert ok and failed == []
    ok, failed = check_expect("As an AI, I do not play games.", expect)
    assert ok is False
    assert failed == ["does not mention 'Keepy Uppy'", "mentions 'as an AI'"]
    ok, failed = check_expect("Keepy Uppy.", expect)
    assert failed == ["2 words, expected 5–30"]
    assert check_expect("anything", None) == (None, [])
    assert Expect.parse({"mention": "stay in character"}).mention == ("stay in character",)
    for bad in ({"words": [9, 3]}, {"mention": [1]}, {"say": ["x"]}, ["x"], {"words": [1, True]}):
        with pytest.raises(ValueError):
            Expect.parse(bad)


def test_voice_distance_reads_the_persona(persona):
    voice = TrainingVoice(persona)
    own = persona.answers()[5][1]
    corporate = ("Thank you for reaching out. Please note that we recommend reviewing the documentation in order "
                 "to ensure optimal results. Additionally, it is important to note that further information is "
                 "available. We are pleased to assist and would be pleased to help should you require support.")
    assert voice.distance(own) < voice.flag < voice.distance(corporate)
    assert voice.distance(LOOP) > voice.flag
    assert voice.distance("Hello there.") is None  # too little prose to judge
    assert voice.training_median < voice.flag


def test_gap_closed():
    assert gap_closed(10.0, 4.0, 4.0) == 1.0
    assert gap_closed(10.0, 7.0, 4.0) == 0.5
    assert gap_closed(10.0, 12.0, 4.0) < 0
    assert gap_closed(4.2, 4.0, 4.0) is None  # base is already in voice
    assert gap_closed(None, 4.0, 4.0) is None


def test_the_voice_rules_run_on_a_reply():
    rules = ReplyRules()
    found = reply_findings(rules, "Certainly! As an AI language model, I don't have personal opinions.")
    assert [f["name"] for f in found] == ["assistant-boilerplate"]
    assert found[0]["message"].startswith('stock assistant phrases "Certainly!"')
    leak = reply_findings(rules, "Here you go.<end_of_turn>\n<start_of_turn>user\nmore")
    assert [f["name"] for f in leak] == ["template-leak"]
    assert reply_findings(rules, PROSE) == [] and reply_findings(rules, "") == []


def test_openers_are_judged_over_a_set_of_replies():
    rules = ReplyRules()
    replies = [f"Well, petal, {w} is a fine thing to ask about on a wet day." for w in "abcdefghijklmnopqrstuvwxy"]
    found, per_reply = opener_findings(rules, replies)
    assert found and found[0]["name"] == "repeated-opener"
    assert "'well petal' opens 25 of 25 replies" in found[0]["message"]
    assert sorted(per_reply) == list(range(25))
    starts = ["Apples", "Rain", "Slugs", "Tea", "Honestly", "My", "Once", "Nobody", "Kettles", "Cats", "Mud", "Salt",
              "Bees", "Wind", "Toast", "Rooks", "Frost", "Moss", "Ducks", "Jam", "Hedges", "Owls", "Plums", "Socks"]
    ends = ["today", "again", "mostly", "by noon", "or so", "in March", "at dusk", "for luck", "twice", "slowly",
            "at last", "on Sundays", "with jam", "in the rain", "for now", "quietly", "eventually", "in spring",
            "by the pond", "all week", "after tea", "at home", "next door", "too"]
    varied = [f"{s} come {i} ways {e}." for i, (s, e) in enumerate(zip(starts, ends))]
    assert opener_findings(rules, varied)[0] == []
