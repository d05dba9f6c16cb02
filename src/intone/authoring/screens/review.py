"""The review screen (`intone author DATA.jsonl --review DIR`): step through a probe's replies,
rate them, mark their voice, pick blind A/B winners, and adopt a reply as a new example.

The state lives in `authoring/review.py` (no textual); this screen maps keys to it and draws it.
Judgements go to DIR/ratings.jsonl as they are given. Adopting switches to the editor with the
new example in it, unsaved: the editor's own save (atomic, journaled) writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from intone.authoring.review import Review
from intone.authoring.screens.dialogs import show_help
from intone.authoring.widgets.plain import plain, same
from intone.authoring.widgets.review_pair import PairPane
from intone.authoring.widgets.review_reply import FlagsPane, ReplyPane, setting_text
from intone.errors import UsageError
from intone.schemas.probe import format_ratings, ratings_summary

if TYPE_CHECKING:
    from intone.authoring.screens.editor import EditorScreen

RATE = Binding.Group("Rate", compact=True)
VOICE = Binding.Group("Voice", compact=True)
MOVE = Binding.Group("Next/Prev", compact=True)
PICK = Binding.Group("Pick A/B/tie", compact=True)
SEPARATOR = "  │  "

REPLIES_ONLY = frozenset({"rate", "mark", "clear", "toggle_order"})
AB_ONLY = frozenset({"pick"})


def _rate(n: int) -> Binding:
    words = {1: "1 (bad)", 3: "3 (fair)", 5: "5 (good)"}.get(n, str(n))
    return Binding(
        str(n), f"rate({n})", str(n), id=f"rate-{n}", tooltip=f"Rate this reply {words}", group=RATE
    )


class ReviewScreen(Screen):
    CSS_PATH = "../review.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(_rate(n) for n in range(1, 6)),
        Binding(
            "i", "mark('in')", "In voice", id="in-voice", tooltip="Mark this reply in voice", group=VOICE
        ),
        Binding(
            "o", "mark('off')", "Off voice", id="off-voice", tooltip="Mark this reply off voice", group=VOICE
        ),
        Binding(
            "x",
            "clear",
            "Clear",
            id="clear-rating",
            tooltip="Clear this reply's rating and voice mark",
            show=False,
        ),
        Binding(
            "a", "pick('left')", "A", id="pick-a", tooltip="Blind A/B: reply A (left) is better", group=PICK
        ),
        Binding(
            "b", "pick('right')", "B", id="pick-b", tooltip="Blind A/B: reply B (right) is better", group=PICK
        ),
        Binding("t", "pick('tie')", "Tie", id="pick-tie", tooltip="Blind A/B: neither is better", group=PICK),
        Binding("n", "step(1)", "Next", id="next-reply", tooltip="Next reply (or pair)", group=MOVE),
        Binding("p", "step(-1)", "Prev", id="previous-reply", tooltip="Previous reply (or pair)", group=MOVE),
        Binding(
            "u",
            "next_unjudged",
            "Unrated",
            id="next-unrated",
            tooltip="Next reply not rated (or pair not picked)",
        ),
        Binding(
            "e",
            "adopt",
            "Adopt",
            id="adopt",
            tooltip="Open this reply (in blind A/B: the one picked) as a new example in the editor, tagged "
            "from-probe, to edit and save",
        ),
        Binding(
            "m",
            "start_ab",
            "A/B",
            id="blind-ab",
            tooltip="Blind A/B: two models' replies side by side, unlabelled",
        ),
        Binding(
            "m", "stop_ab", "Single", id="single-replies", tooltip="Back to single replies, with their flags"
        ),
        Binding(
            "f",
            "toggle_order",
            "Order",
            id="reply-order",
            tooltip="Prompt order, or most flags first",
            show=False,
        ),
        Binding(
            "s", "summary", "Summary", id="ratings-summary", tooltip="Mean ratings and A/B win rates so far"
        ),
        Binding(
            "f2",
            "show_editor",
            "Editor",
            id="show-editor",
            tooltip="Go to the dataset editor (f2 comes back)",
        ),
        Binding("f1", "help", "Help", id="help", tooltip="Show every key"),
    ]

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review
        self.note = ""
        self._status: Content | None = None
        self._title: Content | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="review-title")
        with Horizontal(id="review-single"):
            yield ReplyPane(id="review-reply")
            yield FlagsPane(id="review-side")
        yield PairPane(id="review-ab")
        yield Static("", id="review-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        problems = self.review.problems
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notify(f"Skipped: {problems[0]}{more}", severity="warning", timeout=10, markup=False)
        self.show()

    def on_screen_resume(self) -> None:
        self.show()

    # ------------------------------------------------------------------ drawing

    def show(self) -> None:
        review = self.review
        ab = review.mode == "ab"
        self.query_one("#review-single").display = not ab
        self.query_one("#review-ab").display = ab
        if ab:
            pair = review.current_pair
            self.query_one(PairPane).show(pair, review.picked_side(pair) if pair else None)
        else:
            reply = review.current
            self.query_one(ReplyPane).show(reply, review.rating_of(reply))
            self.query_one(FlagsPane).show(reply, review.flags(reply))
        self._set_title()
        self._set_status()
        self.refresh_bindings()

    def _set_title(self) -> None:
        review = self.review
        at, total = review.position
        if review.mode == "ab":
            pair = review.current_pair
            parts = [f"Blind A/B pair {at} of {total}"]
            if pair is not None:
                reply = pair.left
                if reply.prompt_index is not None:
                    parts.append(f"prompt {reply.prompt_index + 1}")
                parts += [f"setting {setting_text(reply)}", f"sample {reply.sample}", "sources hidden"]
        else:
            reply = review.current
            parts = [f"Reply {at} of {total}"]
            if reply.prompt_index is not None:
                parts.append(
                    f"prompt {reply.prompt_index + 1}" + (f" ({reply.where})" if reply.where else "")
                )
            parts += [reply.source, f"setting {setting_text(reply)}", f"sample {reply.sample}"]
            if reply.run:
                parts.append(f"run {reply.run}")
        title = plain("  ·  ".join(parts), "bold", 400, one_line=True)
        if not same(self._title, title):
            self._title = title
            self.query_one("#review-title", Static).update(title)

    def _set_status(self) -> None:
        review = self.review
        rated, voiced, picked = review.counts()
        counts = f"{rated} of {len(review.replies)} rated, {voiced} voice mark{'' if voiced == 1 else 's'}"
        if review.pairs:
            counts += f", {picked} of {len(review.pairs)} pairs picked"
        parts = [Content(counts)]
        if self.note:
            parts.append(plain(self.note, limit=300, one_line=True))
        parts.append(Content("prompt order" if review.order == "prompt" else "most flags first"))
        parts.append(plain(f"→ {review.log.path}", limit=300, one_line=True))
        status = Content(SEPARATOR).join(parts)
        if not same(self._status, status):
            self._status = status
            self.query_one("#review-status", Static).update(status)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        ab = self.review.mode == "ab"
        if action in REPLIES_ONLY:
            return not ab
        if action in AB_ONLY:
            return ab
        if action == "start_ab":
            return not ab and bool(self.review.pairs)
        if action == "stop_ab":
            return ab
        return True

    # ------------------------------------------------------------------ keys

    def _judging(self, judge, *args) -> bool:
        """Write a judgement; a disk that refuses is said, and nothing is shown as rated."""
        try:
            judge(*args)
        except OSError as exc:
            self.notify(
                f"Could not write {self.review.log.path}: {exc.strerror or exc}",
                severity="error",
                markup=False,
            )
            return False
        return True

    def action_rate(self, value: int) -> None:
        if self._judging(self.review.rate, value):
            self.note = f"rated {value}/5"
            self.show()

    def action_mark(self, voice: str) -> None:
        if self._judging(self.review.mark, voice):
            self.note = f"marked {voice} voice"
            self.show()

    def action_clear(self) -> None:
        if self._judging(self.review.clear):
            self.note = "cleared"
            self.show()

    def action_pick(self, side: str) -> None:
        if self.review.current_pair is None:
            return
        if self._judging(self.review.pick, side):
            self.note = {"left": "picked A", "right": "picked B", "tie": "a tie"}[side]
            if not self.review.next_unjudged():
                self.note += "; every pair is picked (s shows the summary)"
            self.show()

    def action_step(self, delta: int) -> None:
        self.review.step(delta)
        self.note = ""
        self.show()

    def action_next_unjudged(self) -> None:
        found = self.review.next_unjudged()
        what = "pair is picked" if self.review.mode == "ab" else "reply is rated"
        self.note = "" if found else f"every {what}"
        self.show()

    def action_start_ab(self) -> None:
        self.review.toggle_mode()
        self.note = "blind A/B: which model wrote which is hidden"
        self.show()

    def action_stop_ab(self) -> None:
        self.review.toggle_mode()
        self.note = "single replies"
        self.show()

    def action_toggle_order(self) -> None:
        order = self.review.toggle_order()
        self.note = "most flags first" if order == "flags" else "prompt order"
        self.show()

    def action_summary(self) -> None:
        try:
            text = format_ratings(ratings_summary(self.review.folder))
        except UsageError as exc:  # the folder went away under us
            text = str(exc)
        self.app.push_screen(RatingsSummary(text))

    def action_show_editor(self) -> None:
        self.app.pop_screen()

    def action_adopt(self) -> None:
        editor: EditorScreen = self.app.editor_screen
        if editor.reading:
            self.notify("The dataset is still being read; adopt again in a moment", markup=False)
            return
        reply = self.review.adoptable()
        if reply is None:
            self.note = "pick A or B first: blind A/B adopts the reply you picked (p: back to the last pair)"
            self.show()
            return
        record = self.review.adopt()
        blind = self.review.mode == "ab"
        self.app.pop_screen()
        what = "the picked reply" if blind else reply.id
        editor.add_example(
            record,
            "adopt probe reply",
            note=f"adopted {what}: edit it, then ctrl+s saves (f2: back to review)",
        )

    def action_help(self) -> None:
        show_help(self, self.active_bindings)


class RatingsSummary(ModalScreen[None]):
    """The same table as `intone probe --ratings DIR`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,s,q", "close", "Close", show=False)]

    def __init__(self, text: str) -> None:
        super().__init__(classes="dialog-screen")
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(Content.styled("Ratings so far", "bold"))
            with VerticalScroll(id="summary-scroll"):
                yield Static(plain(self.text, limit=20000), id="summary-text")
            yield Static(Content.styled("escape closes this", "dim"))

    def action_close(self) -> None:
        self.dismiss(None)
