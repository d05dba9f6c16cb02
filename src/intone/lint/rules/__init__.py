"""The explicit rule table. Add a rule here, with a case file in tests/rules/cases/."""

from __future__ import annotations

from intone.lint.registry import Registry
from intone.lint.rules.boilerplate import AssistantBoilerplate
from intone.lint.rules.catchphrase import CatchphraseImbalance
from intone.lint.rules.distribution import LengthOutlier, LengthUniformity, LowDiversity
from intone.lint.rules.duplicates import DuplicateExample, DuplicatePrompt
from intone.lint.rules.edges import RepeatedCloser, RepeatedOpener
from intone.lint.rules.leakage import EvalLeakage
from intone.lint.rules.neardup import NearDuplicate
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
    UnreadableFile,
    Whitespace,
)
from intone.lint.rules.style_drift import StyleDrift
from intone.lint.rules.template_leak import TemplateLeak
from intone.lint.rules.templated_prompt import TemplatedPrompt
from intone.lint.rules.too_long import TooLong, TruncatedAssistantTurn

RULES = Registry(
    [
        InvalidJson,
        InvalidUtf8,
        NotAnObject,
        BlankLine,
        ByteOrderMark,
        CrlfLineEnding,
        UnreadableFile,
        SchemaError,
        UnknownRole,
        UnknownKey,
        EmptyContent,
        RoleOrder,
        NoAssistantTurn,
        EndsOnUser,
        Whitespace,
        TemplateLeak,
        DuplicateExample,
        DuplicatePrompt,
        TooLong,
        TruncatedAssistantTurn,
        NearDuplicate,
        LowDiversity,
        TemplatedPrompt,
        LengthUniformity,
        LengthOutlier,
        StyleDrift,
        RepeatedOpener,
        RepeatedCloser,
        CatchphraseImbalance,
        AssistantBoilerplate,
        EvalLeakage,
    ]
)
