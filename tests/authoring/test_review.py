"""The review screen (`intone author DATA --review DIR`) and its controller.

The probe folder is written by hand here, in the shape `intone probe` writes: two prompts, two
settings, tuned and base replies, so that single replies and blind A/B pairs are both there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from intone.authoring.app import make_app
from intone.authoring.lock import lock_path
from intone.authoring.review import ADOPTED_TAG, Review, adopted_record, flag_count, flags, make_pairs
from intone.authoring.screens.editor import EditorScreen
from intone.authoring.screens.review import RatingsSummary, ReviewScreen
from intone.authoring.widgets.conversation import TurnText
from intone.authoring.widgets.plain import shown
from intone.errors import UsageError
from intone.schemas.probe import read_probe, read_ratings
from tests.authoring.test_markup import HOSTILE, drawn

SIZE = (120, 36)

PROMPTS = [
    [{"role": "user", "content": "Hiya, mind if I sit here?"}],
    [
        {"role": "system", "content": "Play Wren Tuppenny, a hedgehog with a tea cart."},
        {"role": "user", "content": "What's your favourite game? [b]bold?[/b]"},
    ],
]
REPLIES = {
    ("tuned", 0): "Sit wherever the stool will have you. That one leans.",
    ("base", 0): "As an AI language model, I do not have a preference about seating.",
    ("tuned", 1): "Keepy Uppy with a conker, [/] though the towpath wins most rounds.",
    ("base", 1): "I enjoy many games. I enjoy many games. I enjoy many games.",
}


def probe_line(prompt: int, setting: str, source: str, sample: int = 0, **extra) -> dict:
    reply = REPLIES[(source, prompt)] + ("" if setting == "t0.6" else " Again.")
    line = {
        "id": f"p{prompt}-{setting}-{source}-s{sample}",
        "prompt_index": prompt,
        "where": f"data/eval.jsonl:{prompt + 1}",
        "messages": PROMPTS[prompt],
        "reference": "Sit wherever the stool will have you." if prompt == 0 else None,
        "source": source,
        "run": "runs/demo" if source == "tuned" else "google/gemma-3-270m-it",
        "setting_id": setting,
        "setting": {"temperature": 0.6 if setting == "t0.6" else 0.9},
        "sample": sample,
        "seed": 1000 + sample,
        "reply": reply,
        "tokens": 20,
        "words": len(reply.split()),
        "stopped": source == "tuned",
        "loop_share": 0.4 if (source, prompt) == ("base", 1) else 0.0,
        "distinct2": 0.9,
        "voice_distance": 0.2 if source == "tuned" else 0.8,
        "findings": (
            [{"code": "IN301", "name": "assistant-boilerplate", "message": "opens with 'As an AI'"}]
            if (source, prompt) == ("base", 0)
            else []
        ),
        "copy": {"overlap": 0.85, "line": 12}
        if (source, prompt) == ("tuned", 0)
        else {"overlap": 0.1, "line": None},
        "nearest": [{"line": 12, "overlap": 0.85, "answer": "Sit wherever the stool will have you. [red]x"}],
        "expect": {
            "passed": prompt == 0 or source == "tuned",
            "failed": [] if prompt == 0 or source == "tuned" else ["mentions 'Keepy Uppy'"],
        },
        "future_key": {"anything": True},
    }
    line.update(extra)
    return line


def write_probe(folder: Path, lines: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if lines is None:
        lines = [
            probe_line(prompt, setting, source)
            for prompt in (0, 1)
            for setting in ("t0.6", "t0.9")
            for source in ("tuned", "base")
        ]
    (folder / "probe.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return folder


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    return write_probe(tmp_path / "probe-out")


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "persona.jsonl"
    path.write_text(
        json.dumps(
            {
                "messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Ahoy."}],
                "mood": "kept",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------------------- the controller


def test_pairs_are_blind_random_and_cover_each_prompt_setting_sample(probe: Path) -> None:
    replies = read_probe(probe).replies
    pairs = make_pairs(replies, __import__("random").Random(1))
    assert len(pairs) == 4
    assert all({p.left.source, p.right.source} == {"tuned", "base"} for p in pairs)
    assert all(
        p.left.setting_id == p.right.setting_id and p.left.prompt_index == p.right.prompt_index for p in pairs
    )
    lefts = {
        tuple(p.left.source for p in make_pairs(replies, __import__("random").Random(seed)))
        for seed in range(20)
    }
    assert len(lefts) > 1  # the order is drawn, not fixed


def test_flags_name_what_the_probe_measured(probe: Path) -> None:
    by_id = read_probe(probe).by_id()
    base = [f.text for f in flags(by_id["p1-t0.6-base-s0"])]
    assert base[0].startswith("did not stop") and "expect failed: mentions 'Keepy Uppy'" in base
    assert any(t.startswith("loop share 0.40") for t in base)
    tuned = flags(by_id["p0-t0.6-tuned-s0"])
    assert any(
        f.text == "copy of training line 12: overlap 0.85 (copy >= 0.60)" and f.level == "warning"
        for f in tuned
    )
    assert flag_count(by_id["p1-t0.6-base-s0"]) > flag_count(by_id["p0-t0.9-tuned-s0"])
    other = [f.text for f in flags(by_id["p1-t0.6-tuned-s0"])]
    assert "largest overlap with a training answer 0.10 (not a copy)" in other


def test_flags_use_the_probes_own_thresholds(probe: Path) -> None:
    (probe / "summary.json").write_text(
        json.dumps({"thresholds": {"loop_share": 0.5, "copy_overlap": 0.6, "voice_flag": 0.5}})
    )
    review = Review.open(probe)
    base = review.by_id["p1-t0.6-base-s0"]
    found = {f.text: f.level for f in review.flags(base)}
    assert found["loop share 0.40: repeated word 4-grams (loop >= 0.50)"] == "info"
    assert found["voice distance 0.80 from the training profile (training p90 0.50)"] == "warning"
    tuned = {f.text: f.level for f in review.flags(review.by_id["p1-t0.6-tuned-s0"])}
    assert tuned["voice distance 0.20 from the training profile (training p90 0.50)"] == "info"


def test_adopted_record_is_the_prompt_and_the_reply_tagged(probe: Path) -> None:
    reply = read_probe(probe).by_id()["p1-t0.6-tuned-s0"]
    record = adopted_record(reply)
    assert record["messages"][:2] == PROMPTS[1]
    assert record["messages"][2] == {"role": "assistant", "content": reply.reply}
    assert record["tags"] == [ADOPTED_TAG] and "p1-t0.6-tuned-s0" in record["notes"]


def test_judgements_reach_the_file_and_survive_reopening(probe: Path) -> None:
    review = Review.open(probe, seed=3)
    review.rate(4)
    review.mark("off")
    review.rate(2)  # the voice mark is kept
    review.step(1)
    review.mark("in")
    review.toggle_mode()
    review.pick("tie")
    again = Review.open(probe, seed=3)
    first, second = again.replies[0], again.replies[1]
    assert (again.rating_of(first).rating, again.rating_of(first).voice) == (2, "off")
    assert (again.rating_of(second).rating, again.rating_of(second).voice) == (None, "in")
    assert again.picked_side(again.pairs[0]) == "tie"
    assert len((probe / "ratings.jsonl").read_text().splitlines()) == 5


def test_order_by_flags_keeps_the_reply_and_next_unrated_skips_rated(probe: Path) -> None:
    review = Review.open(probe)
    review.step(3)
    shown = review.current
    assert review.toggle_order() == "flags"
    assert review.current is shown
    assert flag_count(review._ordered[0]) == max(flag_count(r) for r in review.replies)
    review.toggle_order()
    review.index = 0
    review.rate(5)
    assert review.next_unjudged() and review.index == 1


def test_a_folder_without_probe_jsonl_or_replies_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no probe.jsonl"):
        Review.open(tmp_path)
    (tmp_path / "probe.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(UsageError, match=r"probe.jsonl:1: .*no reply|no reply to review: .*probe.jsonl:1"):
        Review.open(tmp_path)


# ---------------------------------------------------------------------------- the app


async def settle(pilot) -> None:
    while pilot.app.editor_screen.busy:
        await pilot.pause(0.02)
    await pilot.pause()


def review_app(dataset: Path, probe: Path, seed: int = 7):
    return make_app(dataset, review=Review.open(probe, seed=seed))


@pytest.mark.asyncio
async def test_rate_mark_pick_adopt_save_and_reload(dataset: Path, probe: Path) -> None:
    app = review_app(dataset, probe)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        review = screen.review
        first = review.current.id
        text = str(screen.query_one("#review-reply .reply").render())
        assert "Sit wherever the stool" in text and "not rated" in text
        await pilot.press("4", "i")
        assert "★★★★☆ 4/5 · in voice" in str(screen.query_one("#review-reply .reply").render())
        await pilot.press("n", "o", "2")
        second = review.current.id
        await pilot.press("n", "p")
        assert review.current.id == second

        # blind A/B: no source, id or run on screen
        await pilot.press("m")
        assert review.mode == "ab" and screen.query_one("#review-ab").display
        pair = review.current_pair
        shown = " ".join(str(w.render()) for w in screen.query("#review-ab Static")) + str(
            screen.query_one("#review-title").render()
        )
        for hidden in ("tuned", "base", "runs/demo", "gemma", pair.left.id, pair.right.id):
            assert hidden not in shown
        tuned_side = "a" if pair.left.source == "tuned" else "b"
        await pilot.press(tuned_side)
        assert review.pair_index == 1  # on to the next pair
        await pilot.press("t")

        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, RatingsSummary)
        summary = str(app.screen.query_one("#summary-text").render())
        assert "tuned vs base: tuned won 1 of 1 decided picks" in summary and "1 tie, left out" in summary
        await pilot.press("escape")

        # adopt the tuned reply to prompt 2 (markup-looking text stays text)
        await pilot.press("m")
        review.index = next(i for i, r in enumerate(review._ordered) if r.id == "p1-t0.6-tuned-s0")
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        assert editor.current == 1 and editor.dataset.dirty
        assert isinstance(app.focused, TurnText) and app.focused.message_index == 2
        await pilot.press("end", *" Aye.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not editor.dataset.dirty
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is screen and review.current.id == "p1-t0.6-tuned-s0"

    lines = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["mood"] == "kept"  # the editor's save kept the unknown field
    adopted = lines[1]
    assert adopted["tags"] == ["from-probe"]
    assert adopted["messages"][:2] == PROMPTS[1]
    assert adopted["messages"][2]["content"] == REPLIES[("tuned", 1)] + " Aye."

    ratings = read_ratings(probe)
    assert ratings.ratings[first].rating == 4 and ratings.ratings[first].voice == "in"
    assert ratings.ratings[second].rating == 2 and ratings.ratings[second].voice == "off"
    assert sorted(p.winner == "tie" for p in ratings.picks.values()) == [False, True]
    raw = [json.loads(line) for line in (probe / "ratings.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in raw] == ["rating"] * 4 + ["ab"] * 2


@pytest.mark.asyncio
async def test_keys_hidden_where_they_do_nothing(dataset: Path, probe: Path) -> None:
    app = review_app(dataset, probe)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        ids = lambda: {b.binding.id for b in screen.active_bindings.values()}
        assert {"rate-1", "adopt", "in-voice", "blind-ab"} <= ids() and "pick-a" not in ids()
        await pilot.press("m")
        assert "pick-a" in ids() and "rate-1" not in ids() and "adopt" in ids()  # adopts the pick
        assert "single-replies" in ids() and "blind-ab" not in ids()
        await pilot.press("1")  # rating keys do nothing in A/B
        assert not screen.review.ratings
        await pilot.press("f2")
        await pilot.pause()
        editor_ids = {b.binding.id for b in app.screen.active_bindings.values()}
        assert "show-review" in editor_ids


@pytest.mark.asyncio
async def test_blind_ab_adopts_the_picked_reply_without_naming_it(dataset: Path, probe: Path) -> None:
    app = review_app(dataset, probe)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        review = screen.review
        await pilot.press("m")
        pair = review.current_pair
        await pilot.press("e")  # nothing picked yet: nothing adopted
        await pilot.pause()
        assert app.screen is screen and "pick A or B first" in screen.note
        await pilot.press("b", "p")  # pick B, which moves on; p comes back to it
        assert review.current_pair == pair
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, EditorScreen) and editor.dataset.dirty
        added = editor.dataset.rows[editor.current].data
        assert added["messages"][-1]["content"] == pair.right.reply and added["tags"] == ["from-probe"]
        status = str(editor.query_one("#status").render())
        assert "adopted the picked reply" in status
        for label in ("tuned", "base", pair.right.id):
            assert label not in status  # the status line does not say which model it was


@pytest.mark.asyncio
async def test_the_palette_offers_the_review_actions_that_apply(dataset: Path, probe: Path) -> None:
    from intone.authoring.palette import IntoneCommands

    app = review_app(dataset, probe)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        names = lambda: [name for name, _run, _help in IntoneCommands(screen)._actions()]
        assert {"Rate 4/5", "Mark off voice", "Adopt reply", "Blind A/B"} <= set(names())
        assert "Pick A" not in names() and "Duplicate example" not in names()
        await pilot.press("ctrl+p", *"Rate 4/5")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.review.rating_of(screen.review.current).rating == 4
        await pilot.press("m")
        assert "Pick A" in names() and "Rate 4/5" not in names()


@pytest.mark.asyncio
async def test_one_source_has_no_ab_and_quit_works_from_review(dataset: Path, tmp_path: Path) -> None:
    folder = write_probe(tmp_path / "one", [probe_line(0, "t0.6", "tuned"), probe_line(1, "t0.6", "tuned")])
    app = make_app(dataset, review=folder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "blind-ab" not in {b.binding.id for b in screen.active_bindings.values()}
        await pilot.press("m")
        assert screen.review.mode == "replies"
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code in (None, 0)


@pytest.mark.asyncio
async def test_without_review_the_editor_shows_no_review_key(dataset: Path) -> None:
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "show-review" not in {b.binding.id for b in app.screen.active_bindings.values()}
        await pilot.press("f2")  # nothing happens
        assert isinstance(app.screen, EditorScreen)


@pytest.mark.asyncio
async def test_bad_lines_are_skipped_and_said(dataset: Path, tmp_path: Path) -> None:
    folder = write_probe(tmp_path / "bad", [probe_line(0, "t0.6", "tuned")])
    path = folder / "probe.jsonl"
    path.write_text(path.read_text() + '{"id": "x", "messages": [], "reply": "hi"}\nnot json\n')
    app = make_app(dataset, review=folder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.screen.review.replies) == 1
        assert any("probe.jsonl:2" in n.message for n in app._notifications)


def test_cli_review_folder_without_probe_jsonl_exits_2(dataset: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "intone.cli", "author", str(dataset), "--review", str(empty)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no probe.jsonl" in done.stderr and str(empty) in done.stderr
    assert not lock_path(dataset).exists()  # refused before the app took the file


# ---------------------------------------------------------------------------- text is text


@settings(max_examples=120, deadline=None)
@given(HOSTILE)
def test_review_views_show_hostile_text_verbatim(text: str) -> None:
    from intone.authoring.widgets.review_pair import side_content
    from intone.authoring.widgets.review_reply import (
        flags_content,
        nearest_content,
        prompt_content,
        reference_content,
        reply_content,
        setting_text,
    )
    from intone.schemas.probe import REPLY_ADAPTER, Rating

    reply = REPLY_ADAPTER.validate_python(
        probe_line(
            0,
            "t0.6",
            "base",
            id=text or "x",
            reply=text,
            reference=text,
            messages=[{"role": "system", "content": text}, {"role": "user", "content": text}],
            setting_id=text,
            findings=[{"code": text, "name": text, "message": text}],
            nearest=[{"line": 3, "overlap": 0.5, "answer": text}],
            expect={"passed": False, "failed": [text]},
        )
    )
    expected = shown(text)
    assert drawn(prompt_content(reply.messages)).count(expected) >= 2
    if text.strip():
        assert expected in drawn(reply_content(reply, Rating(reply.id, 3, "in")))
        assert expected in drawn(side_content("A", text, None, "left"))
    assert expected in drawn(reference_content(reply)) or not text
    assert expected in drawn(flags_content(flags(reply)))
    assert expected in drawn(nearest_content(reply))
    assert text in setting_text(reply)
