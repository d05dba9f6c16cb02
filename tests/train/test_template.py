"""The template and the loss mask: labels only on assistant content and its end-of-turn token."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from intone.train.template import (
    IGNORE,
    GemmaTemplate,
    JinjaTemplate,
    TemplateTokenCounter,
    encode_conversations,
    load_token_counter,
    prompt_ids,
)
from tests.train.conftest import END

# Gemma 3's official chat template (google/gemma-3-270m-it), which trims contents.
OFFICIAL_GEMMA = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = \"\" -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = \"model\" -%}{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}"
)

text = st.text(alphabet=string.ascii_letters + string.digits + " .,!?'\n", min_size=1, max_size=30)


@st.composite
def conversations(draw, strip: bool = False):
    content = text.map(str.strip).filter(bool) if strip else text
    turns = []
    if draw(st.booleans()):
        turns.append(("system", draw(content)))
    for _ in range(draw(st.integers(1, 4))):
        turns.append(("user", draw(content)))
        turns.append(("assistant", draw(content)))
    if draw(st.booleans()):
        turns.append(("user", draw(content)))  # a trailing prompt with no reply
    return tuple(turns)


def expected_labels(tokenizer, messages, train_on="all"):
    """What must be trained, computed independently: each reply's tokens, then <end_of_turn>."""
    replies = [c for role, c in messages if role == "assistant"]
    if train_on == "last":
        replies = replies[-1:]
    out = []
    for reply in replies:
        out += tokenizer.encode_batch([reply])[0] + [END]
    return out


@settings(max_examples=150, deadline=None)
@given(conversations(), st.sampled_from(["all", "last"]))
def test_labels_cover_exactly_the_assistant_turns(tiny_tokenizer, messages, train_on):
    [enc] = encode_conversations(tiny_tokenizer, GemmaTemplate(), [messages], train_on=train_on)
    assert len(enc.input_ids) == len(enc.labels)
    trained = [label for label in enc.labels if label != IGNORE]
    assert trained == expected_labels(tiny_tokenizer, messages, train_on)
    # Every trained position holds its own input token (labels are not shifted here).
    assert all(label in (IGNORE, tok) for tok, label in zip(enc.input_ids, enc.labels))
    # The rendered text round-trips: nothing is lost or added around the mask boundaries.
    rendered = "".join(t for t, _ in GemmaTemplate().segments(messages))
    assert tiny_tokenizer.decode(enc.input_ids, skip_special_tokens=False) == rendered


@settings(max_examples=60, deadline=None)
@given(conversations(strip=True))
def test_builtin_template_matches_official_gemma_template(tiny_tokenizer, messages):
    official = JinjaTemplate(OFFICIAL_GEMMA, {"bos_token": "<bos>", "eos_token": "<eos>"})
    ours = GemmaTemplate()
    assert "".join(t for t, _ in ours.segments(messages)) == official.render(messages)
    official.end_of_turn = "<end_of_turn>"
    a = encode_conversations(tiny_tokenizer, official, [messages])[0]
    b = encode_conversations(tiny_tokenizer, ours, [messages])[0]
    # Same ids; the jinja path trains the same tokens (its turn ends at the same <end_of_turn>).
    assert a.input_ids == b.input_ids
    assert a.labels == b.labels
    if messages[-1][0] == "user":
        assert official.prompt(messages) == ours.prompt(messages)


def test_gemma_turn_format_and_system_folding():
    segments = GemmaTemplate().segments((("system", "Be Wren."), ("user", "Hi"), ("assistant", "Hello, petal.")))
    assert segments == [
        ("<bos>", False),
        ("<start_of_turn>user\nBe Wren.\n\nHi<end_of_turn>\n", False),
        ("<start_of_turn>model\n", False),
        ("Hello, petal.<end_of_turn>", True),
        ("\n", False),
    ]
    assert GemmaTemplate().prompt((("user", "Hi"),)) == "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"


@settings(max_examples=50, deadline=None)
@given(conversations())
def test_counter_is_exact_and_bound_holds(tiny_tokenizer, messages):
    counter = TemplateTokenCounter(tiny_tokenizer, GemmaTemplate(), "tiny")
    [enc] = encode_conversations(tiny_tokenizer, GemmaTemplate(), [messages])
    assert counter.count_conversation(messages) == len(enc.input_ids)
    assert counter.upper_bound(messages) >= counter.count_conversation(messages)
    assert counter.count_texts([c for _, c in messages]) == [counter.count_text(c) for _, c in messages]


def test_prompt_ids_match_training_prefix(tiny_tokenizer):
    messages = (("user", "Hi there"), ("assistant", "Hello!"))
    [enc] = encode_conversations(tiny_tokenizer, GemmaTemplate(), [messages])
    prompt = prompt_ids(tiny_tokenizer, GemmaTemplate(), messages[:1])
    first_trained = next(i for i, label in enumerate(enc.labels) if label != IGNORE)
    assert enc.input_ids[:first_trained] == prompt


def test_load_token_counter_from_a_model_folder(tiny_model):
    counter = load_token_counter(str(tiny_model))
    assert counter.name.startswith("tokenizer:")
    assert counter.count_text("abc") == 3
    messages = (("user", "Hi"), ("assistant", "Yo"))
    # <bos> + "<start_of_turn>user\nHi<end_of_turn>\n" (1+4+1+2+1+1) + "<start_of_turn>model\n" (1+5+1)
    # + "Yo<end_of_turn>" (3) + "\n" (1)
    assert counter.count_conversation(messages) == 1 + 10 + 7 + 3 + 1


def test_a_reply_that_opens_a_new_turn_shows_the_marker_and_template_leak_finds_it(tiny_tokenizer):
    """Special tokens are dropped from replies, but a turn marker the model wrote is kept as text:
    dropped, `<start_of_turn>user` would leave a bare "user" that no rule can tell from a word."""
    from intone.lint.replies import ReplyRules, reply_findings

    start = tiny_tokenizer.token_id("<start_of_turn>")
    bos = tiny_tokenizer.token_id("<bos>")
    said = tiny_tokenizer.encode_batch(["Sure thing.\n", "user\nAnd then?"])
    ids = [bos, *said[0], start, *said[1]]
    text = tiny_tokenizer.reply_text(ids)
    assert text == "Sure thing.\n<start_of_turn>user\nAnd then?"
    assert tiny_tokenizer.decode(ids) == "Sure thing.\nuser\nAnd then?"  # what plain decoding leaves
    assert tiny_tokenizer.reply_text([bos, *said[0]]) == "Sure thing.\n"
    assert "template-leak" in {f["name"] for f in reply_findings(ReplyRules(), text)}
    assert "template-leak" not in {f["name"] for f in reply_findings(ReplyRules(), tiny_tokenizer.decode(ids))}
