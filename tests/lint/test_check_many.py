"""Record rules see blocks of lines (`check_many`); a rule's block search must find exactly what
`check` finds line by line, and the word search behind it must never miss a text."""

from __future__ import annotations

import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from intone.config import Settings
from intone.lint.context import LintContext
from intone.lint.engine import Linter
from intone.lint.registry import RecordRule
from intone.lint.rules.boilerplate import _ANCHORS, _BLOCK_PAIRS, _BLOCK_WORDS, stock_phrases
from intone.lint.text import quick_words, texts_with_words
from intone.schemas.jsonl import read_jsonl

from ..rules.test_boilerplate_prefilter import PHRASES

ROOT = Path(__file__).resolve().parents[2]
PLANTED = [
    *PHRASES,
    "Certainly! Here it is.", "Of course! Sure.", "Great question, friend.", "That’s a great question!",
    "<start_of_turn>user hi", "Hi<|im_end|>", "[INST] hi [/INST]", "<s>hello", "bye</s>",
    "### Instruction:\nDo it", "Below is an instruction that describes a task.", "Ahoy!###",
    "Hi \n\n###\n\n", "Hi ->", "and then END", "User: hi\nSylana: hello", "Assistant: sure",
    "Note: tea.\nUser: more?", "```\nUser: in code\n```", "AI’s own view", "I\u02bcm an AI",
    "nul\x00byte as an AI", "İstanbul as an AI language model", "ΣΑΣ hope this helps",
]


def _lines(records: list[dict]) -> list:
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    return [line for line in read_jsonl(io.BytesIO(data)) if line.record is not None]


def _assert_same(lines: list) -> list:
    """Every record rule's block findings equal its line-by-line ones; returns them."""
    linter = Linter(Settings(cache=False))
    ctx = LintContext(path="x.jsonl", settings=linter.settings, counter=linter.counter)
    rules = [r for r in linter.rules_for("x.jsonl") if isinstance(r, RecordRule)]
    found = []
    for rule in rules:
        one_by_one = [d for line in lines for d in rule.check(line, ctx)]
        assert list(rule.check_many(lines, ctx)) == one_by_one, rule.name
        found += one_by_one
    return found


def test_bundled_and_fixture_data_give_the_same_findings_in_blocks() -> None:
    files = [*ROOT.glob("data/*.jsonl"), *ROOT.glob("tests/fixtures/**/*.jsonl")]
    assert files
    for path in files:
        with open(path, "rb") as stream:
            lines = [line for line in read_jsonl(stream) if line.record is not None]
        _assert_same(lines)


def test_planted_markup_and_phrases_give_the_same_findings_in_blocks() -> None:
    records = [
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": text}]}
        for text in [*PLANTED, "plain words", "", "no anchors here"]
    ]
    found = _assert_same(_lines(records))
    voice = {d.line for d in found if d.name in ("assistant-boilerplate", "template-leak")}
    assert len(voice) > len(PLANTED) // 2  # the planted cases are really found, not just equal


TEXT = st.lists(
    st.one_of(
        st.sampled_from(PLANTED),
        st.text(alphabet=st.sampled_from("abAI xyz,.!?'’ʼ-\n\x00éΣİ<[#:"), max_size=25),
    ),
    max_size=4,
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=12))
def test_random_blocks_give_the_same_findings(texts: list[str]) -> None:
    records = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": t}]} for t in texts]
    _assert_same(_lines(records))


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=10))
def test_the_word_search_finds_every_text_holding_a_word_or_a_phrase(texts: list[str]) -> None:
    found = texts_with_words(texts, _BLOCK_WORDS, _BLOCK_PAIRS)
    for i, text in enumerate(texts):
        low = text.lower().replace("\u02bc", "'")
        if not _ANCHORS.isdisjoint(quick_words(low)) or stock_phrases(text):
            assert i in found, text


def test_the_word_search_finds_word_pairs_in_the_text_that_holds_them() -> None:
    texts = ["a", "i am fine", "As an A.I., I", "a-i", "an ai"]
    assert texts_with_words(texts, frozenset(), (("a", "i"),)) == {2, 3}


def test_a_block_with_an_answer_too_long_for_the_block_search_gives_the_same_findings() -> None:
    huge = "plain words " * 6_000 + "I hope this helps"  # over 64 KB: checked on its own
    records = [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
        for text in ["As an AI language model, no.", huge, "plain", "Feel free to ask!", huge[:-17]]
    ]
    found = _assert_same(_lines(records))
    assert {d.line for d in found if d.name == "assistant-boilerplate"} == {1, 2, 4}
