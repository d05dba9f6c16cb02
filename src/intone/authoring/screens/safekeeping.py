"""Keeping work safe: atomic saves in a worker, the journal, outside changes, and quitting.

A mixin of EditorScreen, kept apart so the screen module stays readable. The bookkeeping is the
screen's `EditorState`; this runs its writes on worker threads and asks the questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from intone.authoring import journal
from intone.authoring.model import SaveSnapshot
from intone.authoring.screens.dialogs import Choice

if TYPE_CHECKING:
    from intone.authoring.editor_state import EditorState


class Safekeeping:
    state: EditorState
    """Set by EditorScreen.__init__."""

    class Saved(Message):
        """Posted by the save worker: the snapshot is on disk, or `error` says why not."""

        def __init__(self, snapshot: SaveSnapshot, error: str | None = None) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.error = error

    # ------------------------------------------------------------------ saving

    def action_save(self) -> None:
        snapshot = self.state.begin_save()
        self.update_status()
        if snapshot is not None:
            self._write(snapshot)

    @work(thread=True, exclusive=True, group="save")
    def _write(self, snapshot: SaveSnapshot) -> None:
        self.post_message(self.Saved(snapshot, self.state.write(snapshot)))

    def on_safekeeping_saved(self, event: Saved) -> None:
        self.state.finish_save(event.snapshot, event.error)
        if event.error:
            self.notify(f"Could not save: {event.error}", severity="error", timeout=10, markup=False)
            self.update_status()
            return
        self.update_status()
        if self.state.quit_after_save:
            self.app.exit()
            return
        self.lint_all(with_near=False)

    # ------------------------------------------------------------------ journal, disk, quit

    def _flush_journal(self) -> None:
        job = self.state.journal_job()
        if job is not None:
            self._write_journal(*job)

    @work(thread=True, exclusive=False, group="journal")
    def _write_journal(self, seq: int, base: str | None, entries: list) -> None:
        try:
            self.state.write_journal(seq, base, entries)
        except OSError as exc:
            self.app.call_from_thread(
                self.notify, f"Cannot write the journal: {exc}", severity="error", markup=False
            )

    def _check_disk(self) -> None:
        if not self.state.disk_changed():
            return
        self.state.asking = True
        body = (
            f"{self.path.name} was changed by another program while it was open here.\n"
            "Reload it (your unsaved edits here are dropped), or keep your version "
            "(the next save overwrites the file)."
        )

        def done(choice: str | None) -> None:
            self.state.asking = False
            if choice == "reload":
                self.state.reload()
                self._reset_views()
            else:
                self.state.keep_mine()
                self.update_status()

        self.app.push_screen(
            Choice("File changed on disk", body, [("reload", "Reload from disk"), ("keep", "Keep mine")]),
            done,
        )

    def _ask_recover(self, entry: journal.JournalEntry) -> None:
        self.state.asking = True
        body = (
            f"Unsaved edits to {self.path.name} were found in the journal "
            f"({len(entry.entries)} lines, {entry.edited} edited or new example(s)). "
            "The app may have been closed without saving. Recover them?"
        )

        def done(choice: str | None) -> None:
            self.state.asking = False
            if choice == "recover":
                self.state.recover(entry)
                self._reset_views()
            else:
                self.state.drop_journal()
                self.update_status()

        self.app.push_screen(
            Choice("Recover unsaved edits?", body, [("recover", "Recover"), ("discard", "Discard")]), done
        )

    def request_quit(self) -> None:
        if not self.state.dirty:
            self.state.discard_journal()
            self.app.exit()
            return

        def done(choice: str | None) -> None:
            if choice == "save":
                self.state.quit_after_save = True
                self.action_save()
            elif choice == "discard":
                self.state.discard_journal()
                self.app.exit()

        self.app.push_screen(
            Choice(
                "Unsaved changes",
                f"{self.path.name} has unsaved changes.",
                [("save", "Save and quit"), ("discard", "Quit without saving"), ("cancel", "Cancel")],
            ),
            done,
        )
