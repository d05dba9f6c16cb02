"""The lint panel: the current example's diagnostics and its place in the dataset."""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from intone.authoring.panel_view import PanelView
from intone.authoring.widgets.plain import lines, plain, same

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
BAR = 16


class LintPanel(VerticalScroll):
    class Jump(Message):
        """Go to the example with this row uid."""

        def __init__(self, uid: int) -> None:
            super().__init__()
            self.uid = uid

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.updated_at = 0.0
        self.updates = 0
        self._near_uid: int | None = None
        self._shown: dict[str, Content] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="diagnostics")
        yield Static("", id="lengths")
        yield Static("", id="voice")
        yield Static("", id="near")
        yield Button("Jump to it", id="jump", compact=True, tooltip="Open the similar example")
        yield Static("", id="dataset")

    def on_mount(self) -> None:
        self.query_one("#jump").display = False

    def _set(self, selector: str, content: Content) -> Static:
        """Update a section only when its text changed: a keystroke usually changes one number."""
        widget = self.query_one(selector, Static)
        if not same(self._shown.get(selector), content):
            self._shown[selector] = content
            widget.update(content)
        return widget

    def show(self, view: PanelView, near_labels: list[tuple[int, int, float]]) -> None:
        """`near_labels`: (uid, 1-based position, similarity) of similar examples."""
        self._set("#diagnostics", self._diagnostics(view))
        self._set("#lengths", self._lengths(view))
        self._set("#voice", self._voice(view)).display = view.voice is not None
        jump = self.query_one("#jump", Button)
        heading = Content.styled("Near-duplicates\n", "bold")
        if not view.near_available:
            self._set("#near", Content.assemble(heading, ("indexing answers…", "dim")))
            jump.display = False
            self._near_uid = None
        elif near_labels:
            uid, position, similarity = near_labels[0]
            more = f" (+{len(near_labels) - 1} more)" if len(near_labels) > 1 else ""
            self._set(
                "#near",
                Content.assemble(
                    heading,
                    (f"▲ answer resembles example {position} (similarity {similarity:.2f}){more}", "yellow"),
                ),
            )
            label = f"Jump to example {position}"
            if str(jump.label) != label:
                jump.label = Content(label)
            jump.display = True
            self._near_uid = uid
        else:
            self._set("#near", Content.assemble(heading, ("none: this answer is its own", "green")))
            jump.display = False
            self._near_uid = None
        parts = [Content(), Content.styled("Dataset", "bold")]
        for d in view.dataset_diagnostics:
            parts.append(Content.assemble(plain(d.name, SEVERITY_STYLE[d.severity]), ": ", plain(d.message)))
        self._set("#dataset", lines(parts)).display = bool(view.dataset_diagnostics)
        self.updates += 1
        self.updated_at = time.perf_counter()

    @staticmethod
    def _diagnostics(view: PanelView) -> Content:
        parts = [Content.styled("This example", "bold")]
        if not view.checked:
            parts.append(Content.styled("checking…", "dim"))
        elif not view.diagnostics:
            parts.append(
                Content.styled("✔ no problems" if view.file_checked else "✔ no problems of its own", "green")
            )
        for d in view.diagnostics:
            style = SEVERITY_STYLE[d.severity]
            parts.append(
                Content.assemble(plain(f"{d.severity[0].upper()} {d.name}", style), " ", plain(d.message))
            )
            if d.fix:
                parts.append(Content.assemble("  ", plain(d.fix, "dim")))
        if view.checked and not view.file_checked:
            parts.append(
                Content.styled("whole-file checks (duplicates, lengths, voice) still running…", "dim")
            )
        return lines(parts)

    @staticmethod
    def _voice(view: PanelView) -> Content:
        """This answer's distance from the dataset's voice (style-drift's score) and its opener."""
        v = view.voice
        parts = [Content(), Content.styled("Voice", "bold")]
        if v is None:
            return lines(parts)
        if v.distance is None:
            parts.append(Content.styled("too little prose to judge its voice", "dim"))
        elif v.flag is not None:
            if v.drifts:
                verdict, style = "▲ style-drift: another voice", "yellow"
            elif v.far:
                verdict, style = "further than 9 in 10 of its answers", "cyan"
            else:
                verdict, style = "in voice", "green"
            parts.append(Content.assemble("distance from the dataset's voice: ", (f"{v.distance:.1f}", "bold"),
                                          " ", (verdict, style)))
            parts.append(Content(f"  its answers: median {v.median:.1f}, p90 {v.flag:.1f}"))
        if v.opener is not None:
            share = v.opener_count / v.opener_total if v.opener_total else 0.0
            parts.append(Content.assemble(
                ("▲ repeated-opener", "yellow"),
                plain(f" opens with '{v.opener}', like {v.opener_count} of {v.opener_total} answers "
                      f"({share:.0%}, flag > {v.opener_share:.0%})"),
            ))
        return lines(parts)

    @staticmethod
    def _lengths(view: PanelView) -> Content:
        hist = view.histogram
        band = view.word_band
        parts = [Content(), Content.styled("Answer length", "bold")]
        tokens = f", {view.answer_tokens} tokens" if view.answer_tokens is not None else ""
        if view.answer_words is None:
            parts.append(Content("this example has no answer"))
        else:
            parts.append(
                Content.assemble("this answer: ", (str(view.answer_words), "bold"), f" words{tokens}")
            )
        if band.n:
            parts.append(
                Content(f"dataset band (p10–p90): {band.low}–{band.high} words, median {band.median}")
            )
            if view.token_band is not None:
                tb = view.token_band
                parts.append(Content(f"  tokens {tb.low}–{tb.high}, median {tb.median}"))
            if view.answer_words is not None:
                parts.append(Content(f"→ {band.place(view.answer_words)} ({band.n} answers)"))
        peak = max(hist.counts) if hist.counts else 0
        width = max(len(str(e)) for e in hist.edges)
        for i, count in enumerate(hist.counts):
            low, high = hist.edges[i], hist.edges[i + 1] - 1
            label = (
                f"{low:>{width}}–{high:<{width}}"
                if i < len(hist.counts) - 1
                else f"{low:>{width}}+{'':<{width}}"
            )
            filled = round(BAR * count / peak) if peak else 0
            bar = "█" * filled + "·" * (BAR - filled)
            if i == hist.marked:
                parts.append(Content.styled(f"{label} {bar} {count:>5} ◀", "bold cyan"))
            else:
                parts.append(Content.assemble(f"{label} ", (bar, "dim"), f" {count:>5}"))
        return lines(parts)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "jump" and self._near_uid is not None:
            self.post_message(self.Jump(self._near_uid))
