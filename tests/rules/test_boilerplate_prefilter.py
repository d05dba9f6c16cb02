"""assistant-boilerplate skips the long regex when no anchor word is present: that shortcut must
never drop a match the regex would make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from intone.lint.rules import boilerplate

PHRASES = [
    "As an AI language model", "as an AI, I", "As a large language model", "I'm just an AI", "I am an AI assistant",
    "Im a chatbot", "I don't have personal opinions", "I dont have my own preferences",
    "I do not have feelings like humans", "I can't browse the internet", "I don't have real-time information",
    "As of my last update", "my knowledge cut-off", "my training data", "developed by OpenAI", "created by Anthropic",
    "I'm ChatGPT", "I am GPT-4", "I am gpt3.5-turbo", "I hope this helps", "I hope that was helpful",
    "feel free to ask", "let me know if there's anything else", "let me know if you have any questions",
    "don't hesitate to reach out", "I'd be happy to help", "I would be glad to assist",
    "is there anything else I can help", "how can I assist you today", "I don’t have personal views",
    "As an A.I. model", "I'm an A.I.", "as an a.i., I", "I am GPT4", "I'm gpt-4-turbo", "I am GPT4turbo",
    "I'm GPT-3.5", "i am chatgpt",
]
FILLER = st.text(alphabet=st.sampled_from("abc xyz,.!?'’-\n"), max_size=30)


def _regex_only(text: str) -> list[str]:
    low = text.lower().translate(boilerplate._APOSTROPHES)
    spans = []
    opener = boilerplate._OPENER_RE.match(low)
    if opener:
        spans.append((len(opener.group()) - len(opener.group().lstrip()), opener.end()))
    spans += [m.span() for m in boilerplate._PHRASE_RE.finditer(low)]
    return [text[a:b] for a, b in spans]


@settings(max_examples=300, deadline=None)
@given(FILLER, st.sampled_from(PHRASES), FILLER)
def test_the_shortcut_never_drops_a_match(before: str, phrase: str, after: str) -> None:
    text = f"{before} {phrase} {after}"
    assert boilerplate.stock_phrases(text) == _regex_only(text)


def test_every_listed_phrase_is_found() -> None:
    for phrase in PHRASES:
        assert boilerplate.stock_phrases(f"Well. {phrase}. Bye"), phrase
