"""The explicit rule table. Add a rule here, with a case file in tests/rules/cases/."""

from __future__ import annotations

from intone.lint.registry import Registry
from intone.lint.rules.duplicates import DuplicateExample, DuplicatePrompt
from intone.lint.rules.structure import (
    BlankLine,
    ByteOrderMark,
    CrlfLineEnding,
    EmptyContent,
    EndsOnUser,
    InvalidJson,
    InvalidUtf8,
    NoAssistantTurn,
    NotAnObject,
    RoleOrder,
    SchemaError,
    UnknownKey,
    UnknownRole,
    Whitespace,
)
from intone.lint.rules.tokens import TooLong

RULES = Registry(
    [
        InvalidJson,
        InvalidUtf8,
        NotAnObject,
        BlankLine,
        ByteOrderMark,
        CrlfLineEnding,
        SchemaError,
        UnknownRole,
        UnknownKey,
        EmptyContent,
        RoleOrder,
        NoAssistantTurn,
        EndsOnUser,
        Whitespace,
        DuplicateExample,
        DuplicatePrompt,
        TooLong,
    ]
)
