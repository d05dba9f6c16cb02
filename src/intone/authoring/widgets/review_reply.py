"""The review screen's views of one reply: the prompt, the reply, its reference answer, its flags
and the training answers nearest to it. Display only; the screen's keys change the judgements.

Every text here comes from a probe file or a dataset, so it reaches the widgets as `Content`
built with `plain`, never as markup.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from intone.authoring.review import Flag
from intone.authoring.widgets.plain import lines, plain, same
from intone.schemas.probe import ProbeMessage, ProbeReply, Rating

LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
LEVEL_MARK = {"error": "✗", "warning": "▲", "info": "·"}
ROLE_STYLE = {"user": "bold cyan", "assistant": "bold green", "system": "bold yellow"}
NEAREST_CHARS = 600


def setting_text(reply: ProbeReply) -> str:
    """ "t0.6 (temperature=0.6, repetition-penalty=1.15)": the setting's id and what it is."""
    values = ", ".join(f"{k}={v}" for k, v in reply.setting.items())
    return f"{reply.setting_id} ({values})" if values else reply.setting_id


def prompt_content(messages: list[ProbeMessage], heading: str = "Prompt") -> Content:
    parts = [Content.styled(heading, "bold underline")]
    for message in messages:
        parts.append(Content.assemble(plain(message.role, ROLE_STYLE.get(message.role, "bold"), 20)))
        parts.append(plain(message.content))
    return lines(parts)


def judgement_text(rating: Rating | None) -> Content:
    """ "★★★★☆ 4/5 · in voice", or "not rated"."""
    if rating is None or (rating.rating is None and rating.voice is None):
        return Content.styled("not rated", "dim")
    parts: list[Content] = []
    if rating.rating is not None:
        stars = "★" * rating.rating + "☆" * (5 - rating.rating)
        parts.append(Content.styled(f"{stars} {rating.rating}/5", "bold yellow"))
    if rating.voice == "in":
        parts.append(Content.styled("in voice", "bold green"))
    elif rating.voice == "off":
        parts.append(Content.styled("off voice", "bold red"))
    return Content(" · ").join(parts)


def reply_content(reply: ProbeReply, rating: Rating | None, heading: str = "Reply") -> Content:
    measures = [
        f"{reply.words} words" if reply.words is not None else None,
        f"{reply.tokens} tokens" if reply.tokens is not None else None,
    ]
    if reply.stopped is False:
        measures.append("cut off at the token limit")
    shown = ", ".join(m for m in measures if m)
    head = Content.assemble(
        Content.styled(heading, "bold underline"),
        Content.styled(f"  {shown}" if shown else "", "dim"),
        "   ",
        judgement_text(rating),
    )
    body = plain(reply.reply) if reply.reply.strip() else Content.styled("(empty reply)", "dim italic")
    return lines([head, body])


def reference_content(reply: ProbeReply) -> Content:
    if not reply.reference:
        return Content()
    return lines(
        [
            Content.styled("Reference answer (from the prompt file)", "bold underline"),
            plain(reply.reference, "dim"),
        ]
    )


def flags_content(found: list[Flag]) -> Content:
    parts = [Content.styled("Flags", "bold")]
    if not found:
        parts.append(Content.styled("none measured", "dim"))
    for flag in found:
        style = LEVEL_STYLE[flag.level]
        parts.append(Content.assemble((f"{LEVEL_MARK[flag.level]} ", style), plain(flag.text, style, 1000)))
    return lines(parts)


def nearest_content(reply: ProbeReply) -> Content:
    parts = [Content.styled("Nearest training answers", "bold")]
    if not reply.nearest:
        parts.append(Content.styled("none given by the probe", "dim"))
    for near in reply.nearest:
        where = f"line {near.line}" if near.line is not None else "line ?"
        parts.append(Content.styled(f"{where} · overlap {near.overlap:.2f}", "cyan"))
        parts.append(plain(near.answer, limit=NEAREST_CHARS))
    return lines(parts)


class _Sections(VerticalScroll):
    """A scrolling column of Statics, each updated only when its text changed."""

    SECTIONS: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Content] = {}

    def compose(self) -> ComposeResult:
        for name in self.SECTIONS:
            yield Static("", classes=f"review-section {name}")

    def _set(self, name: str, content: Content) -> None:
        if not same(self._shown.get(name), content):
            self._shown[name] = content
            self.query_one(f".{name}", Static).update(content)


class ReplyPane(_Sections):
    """The prompt, the reply with its rating, and the reference answer."""

    SECTIONS = ("prompt", "reply", "reference")
    _reply_id: str | None = None

    def show(self, reply: ProbeReply, rating: Rating | None) -> None:
        moved, self._reply_id = reply.id != self._reply_id, reply.id
        self._set("prompt", prompt_content(reply.messages))
        self._set("reply", reply_content(reply, rating))
        self._set("reference", reference_content(reply))
        self.query_one(".reference").display = bool(reply.reference)
        if moved:
            self.scroll_home(animate=False)


class FlagsPane(_Sections):
    """What the probe measured on the reply, and the training answers nearest to it."""

    SECTIONS = ("flags", "nearest")

    def show(self, reply: ProbeReply, found: list[Flag]) -> None:
        self._set("flags", flags_content(found))
        self._set("nearest", nearest_content(reply))
