"""Command palette provider: the editor's actions by name, or the review screen's when it is shown."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = (
    ("New example", "new_example", "An empty user turn and an empty assistant turn"),
    ("Duplicate example", "duplicate", "Copy this example below itself"),
    ("Delete example", "delete", "Delete this example (undoable)"),
    ("Save", "save", "Write the file atomically"),
    ("Undo", "undo", "Undo the last change"),
    ("Redo", "redo", "Redo the change just undone"),
    ("Next problem", "next_problem", "Go to the next example with a problem"),
    ("Previous problem", "previous_problem", "Go to the previous example with a problem"),
    ("Filter examples", "filter", "Filter by text, tag:NAME, or problems"),
    ("Keys", "help", "Show every key"),
)
REVIEW_COMMANDS = (
    *((f"Rate {n}/5", f"rate({n})", f"Rate this reply {n} of 5") for n in range(1, 6)),
    ("Mark in voice", "mark('in')", "This reply is in the persona's voice"),
    ("Mark off voice", "mark('off')", "This reply is off voice"),
    ("Clear rating", "clear", "Clear this reply's rating and voice mark"),
    ("Pick A", "pick('left')", "Blind A/B: reply A (left) is better"),
    ("Pick B", "pick('right')", "Blind A/B: reply B (right) is better"),
    ("Pick tie", "pick('tie')", "Blind A/B: neither is better"),
    ("Next reply", "step(1)", "The next reply (or pair)"),
    ("Previous reply", "step(-1)", "The previous reply (or pair)"),
    ("Next unrated", "next_unjudged", "The next reply not rated (or pair not picked)"),
    ("Adopt reply", "adopt", "Open this reply (blind A/B: the one picked) as a new example"),
    ("Blind A/B", "start_ab", "Two models' replies side by side, unlabelled"),
    ("Single replies", "stop_ab", "Back to single replies, with their flags"),
    ("Order replies", "toggle_order", "Prompt order, or most flags first"),
    ("Ratings summary", "summary", "Mean ratings and A/B win rates so far"),
    ("Back to the editor", "show_editor", "The dataset editor (f2 comes back)"),
    ("Keys", "help", "Show every key"),
)


class IntoneCommands(Provider):
    def _actions(self):
        from intone.authoring.screens.editor import EditorScreen
        from intone.authoring.screens.review import ReviewScreen

        top = self.app.screen_stack[-1] if self.app.screen_stack else None
        review = next((s for s in reversed(self.app.screen_stack) if isinstance(s, ReviewScreen)), None)
        if review is not None and (top is review or not isinstance(top, EditorScreen)):
            return [(name, partial(review.run_action, action), help) for name, action, help in REVIEW_COMMANDS
                    if review.check_action(action.split("(")[0], ()) is not False]
        screen = next((s for s in self.app.screen_stack if isinstance(s, EditorScreen)), None)
        if screen is None:
            return []
        return [(name, partial(screen.run_action, action), help) for name, action, help in COMMANDS]

    async def discover(self) -> Hits:
        for name, run, help in self._actions():
            yield DiscoveryHit(name, run, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help)
