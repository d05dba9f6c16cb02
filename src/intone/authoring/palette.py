"""Command palette provider: the editor's actions by name."""

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


class IntoneCommands(Provider):
    def _actions(self):
        from intone.authoring.screens.editor import EditorScreen

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
