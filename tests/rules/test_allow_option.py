"""The list option `allow` of assistant-boilerplate: checked once in config, applied per phrase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intone.config import Settings
from intone.errors import ConfigError
from intone.lint.engine import Linter
from intone.lint.rules.boilerplate import AssistantBoilerplate

ANSWER = "As an AI language model, I whirr. I hope this helps, human."


def _lint(tmp_path: Path, options: dict | None) -> list[str]:
    path = tmp_path / "robot.jsonl"
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ANSWER}]}
    path.write_text(json.dumps(record) + "\n", "utf-8")
    settings = Settings(select=["assistant-boilerplate"], cache=False)
    if options is not None:
        settings.rules = {"assistant-boilerplate": options}
    return [d.message for d in Linter(settings).lint_path(path).diagnostics]


def test_allowed_phrases_are_not_reported_and_the_rest_are(tmp_path: Path) -> None:
    assert _lint(tmp_path, None) == [
        'messages[1].content: stock assistant phrases "As an AI language model", "I hope this helps"'
    ]
    # an allowed phrase's words inside a found phrase allow it, case and punctuation ignored
    assert _lint(tmp_path, {"allow": ["AS AN AI!"]}) == [
        'messages[1].content: stock assistant phrase "I hope this helps"'
    ]
    assert _lint(tmp_path, {"allow": ["as an AI", "i hope this helps"]}) == []


@pytest.mark.parametrize("bad", ["as an AI", ["as an AI", ""], ["  "], [3], None])
def test_allow_must_be_a_list_of_non_empty_strings(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="allow"):
        _lint(tmp_path, {"allow": bad})


def test_option_coerce_keeps_a_good_list() -> None:
    (allow,) = AssistantBoilerplate.options
    assert allow.coerce(["as an AI"]) == ["as an AI"]
    assert allow.coerce([]) == []
