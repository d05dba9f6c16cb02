"""What a rule can see besides its input: the file's display path, settings, a token counter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from intone.lint.tokens import TiktokenCounter, TokenCounter

if TYPE_CHECKING:
    from intone.config import Settings


@dataclass
class LintContext:
    path: str
    settings: Settings
    counter: TokenCounter = field(default_factory=TiktokenCounter)
