"""Blind A/B: one prompt and two replies side by side as "A" and "B", with nothing that says which
model wrote which (no source, run, id or measures)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from intone.authoring.review import Pair
from intone.authoring.widgets.plain import lines, plain, same
from intone.authoring.widgets.review_reply import prompt_content

SIDES = (("left", "A"), ("right", "B"))


def side_content(label: str, text: str, picked: str | None, side: str) -> Content:
    if picked == side:
        mark = Content.styled("  ◆ picked", "bold green")
    elif picked == "tie":
        mark = Content.styled("  = tie", "bold yellow")
    else:
        mark = Content()
    head = Content.assemble(Content.styled(f"Reply {label}", "bold underline"), mark)
    body = plain(text) if text.strip() else Content.styled("(empty reply)", "dim italic")
    return lines([head, body])


class PairPane(Vertical):
    """The prompt above, A on the left and B on the right."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Content] = {}
        self._pair: frozenset[str] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ab-prompt-scroll"):
            yield Static("", id="ab-prompt")
        with Horizontal(id="ab-sides"):
            for side, _label in SIDES:
                with VerticalScroll(id=f"ab-{side}", classes="ab-side"):
                    yield Static("", id=f"ab-{side}-text")

    def _set(self, selector: str, content: Content) -> None:
        if not same(self._shown.get(selector), content):
            self._shown[selector] = content
            self.query_one(selector, Static).update(content)

    def show(self, pair: Pair | None, picked: str | None) -> None:
        if pair is None:
            self._set(
                "#ab-prompt", Content.styled("No pairs: blind A/B needs two sources for one prompt.", "dim")
            )
            for side, _label in SIDES:
                self._set(f"#ab-{side}-text", Content())
            return
        self._set("#ab-prompt", prompt_content(pair.left.messages))
        for side, label in SIDES:
            reply = pair.left if side == "left" else pair.right
            self._set(f"#ab-{side}-text", side_content(label, reply.reply, picked, side))
            self.query_one(f"#ab-{side}").set_class(picked == side, "-picked")
        if pair.key != self._pair:
            self._pair = pair.key
            for scroll in self.query(VerticalScroll):
                scroll.scroll_home(animate=False)
