"""Pydantic models of one training record in the chat format (mlx-lm, TRL, OpenAI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictStr, TypeAdapter

from intone.schemas.shape import KNOWN_MESSAGE_KEYS, KNOWN_RECORD_KEYS, ROLES, render_loc

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One turn of a conversation."""

    # Unknown keys are kept (and warned about by the `unknown-key` rule), never dropped.
    model_config = ConfigDict(extra="allow", frozen=True)

    role: Role
    """Who speaks: `system`, `user` or `assistant`."""
    content: StrictStr
    """The text of the turn, exactly as it will be trained on."""


class Conversation(BaseModel):
    """One training example: a list of messages plus optional metadata."""

    model_config = ConfigDict(extra="allow", frozen=True)

    messages: list[Message]
    """The turns, in order. An optional system message first, then user and assistant turns."""
    id: StrictStr | int | None = None
    """An identifier the author chooses; intone only displays it."""
    tags: list[StrictStr] | None = None
    """Free labels such as `greeting` or `story`, used by filters and stats."""
    notes: StrictStr | None = None
    """Free text for the author; never trained on."""
    split: StrictStr | None = None
    """Optional `train`/`valid`/`test` assignment used by `intone export`."""

    @property
    def assistant_turns(self) -> list[Message]:
        return [m for m in self.messages if m.role == "assistant"]

    @property
    def user_turns(self) -> list[Message]:
        return [m for m in self.messages if m.role == "user"]

    @property
    def system(self) -> str | None:
        first = self.messages[0] if self.messages else None
        return first.content if first is not None and first.role == "system" else None


CONVERSATION_ADAPTER: TypeAdapter[Conversation] = TypeAdapter(Conversation)


__all__ = [
    "CONVERSATION_ADAPTER",
    "KNOWN_MESSAGE_KEYS",
    "KNOWN_RECORD_KEYS",
    "ROLES",
    "Conversation",
    "Message",
    "Role",
    "render_loc",
]
