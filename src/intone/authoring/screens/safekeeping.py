"""Keeping work safe: atomic saves in a worker, the journal, outside changes, and quitting.

A mixin of EditorScreen, kept apart so the screen module stays readable.
"""

from __future__ import annotations

from textual import work
from textual.message import Message

from intone.authoring import journal
from intone.authoring.model import Dataset, DiskState, SaveSnapshot
from intone.authoring.screens.dialogs import Choice
from intone.schemas.jsonl import write_jsonl_atomic


class Safekeeping:
    class Saved(Message):
        """Posted by the save worker: the snapshot is on disk, or `error` says why not."""

        def __init__(self, snapshot: SaveSnapshot, error: str | None = None) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.error = error

    # ------------------------------------------------------------------ saving

    def action_save(self) -> None:
        if self.reading:
            self.note = "still reading the file; save again in a moment"
            self.update_status()
            return
        if self._saving:
            return
        self._saving = True
        self.note = "saving…"
        self.update_status()
        self._write(self.dataset.snapshot())

    @work(thread=True, exclusive=True, group="save")
    def _write(self, snapshot: SaveSnapshot) -> None:
        try:
            write_jsonl_atomic(self.path, snapshot.lines)
        except OSError as exc:
            self.post_message(self.Saved(snapshot, f"{self.path}: {exc.strerror or exc}"))
        else:
            self.post_message(self.Saved(snapshot))

    def on_safekeeping_saved(self, event: Saved) -> None:
        self._saving = False
        if event.error:
            self.note = "save failed; your edits are still in the journal"
            self.notify(f"Could not save: {event.error}", severity="error", timeout=10, markup=False)
            self._quit_after_save = False
            self.update_status()
            return
        self.dataset.saved(event.snapshot)
        count = len(event.snapshot.lines)
        self.note = f"saved {count} line{'' if count == 1 else 's'}"
        if self.dataset.dirty:
            self._journal_due = True
        else:
            self.discard_journal()
        self.update_status()
        if self._quit_after_save:
            self.app.exit()
            return
        self.lint_all(with_near=False)

    # ------------------------------------------------------------------ journal, disk, quit

    def _flush_journal(self) -> None:
        if not self._journal_due or self.reading:
            return
        self._journal_due = False
        if not self.dataset.dirty:
            self.discard_journal()
            return
        self._journal_seq += 1
        self._write_journal(
            self._journal_seq, self.dataset.base_digest, journal.snapshot_entries(self.dataset.rows)
        )

    @work(thread=True, exclusive=False, group="journal")
    def _write_journal(self, seq: int, base: str | None, entries: list) -> None:
        with self._journal_lock:  # a newer write or a discard wins over this one
            if seq != self._journal_seq:
                return
            try:
                journal.write_journal(self.path, base, entries)
            except OSError as exc:
                self.app.call_from_thread(
                    self.notify, f"Cannot write the journal: {exc}", severity="error", markup=False
                )

    def discard_journal(self) -> None:
        with self._journal_lock:
            self._journal_seq += 1
            journal.discard_journal(self.path)

    def _check_disk(self) -> None:
        if self._saving or self._asking or self.reading or not self.dataset.changed_on_disk():
            return
        self._asking = True
        body = (
            f"{self.path.name} was changed by another program while it was open here.\n"
            "Reload it (your unsaved edits here are dropped), or keep your version "
            "(the next save overwrites the file)."
        )

        def done(choice: str | None) -> None:
            self._asking = False
            if choice == "reload":
                self.dataset = Dataset.load(self.path)
                self.note = "reloaded from disk"
                self.discard_journal()
                self._reset_views()
            else:
                self.dataset.disk = DiskState.of(self.path)
                self.dataset.saved_token = None
                self.note = "kept your version; save to overwrite the file"
                self.update_status()

        self.app.push_screen(
            Choice("File changed on disk", body, [("reload", "Reload from disk"), ("keep", "Keep mine")]),
            done,
        )

    def _ask_recover(self, entry: journal.JournalEntry) -> None:
        self._asking = True
        body = (
            f"Unsaved edits to {self.path.name} were found in the journal "
            f"({len(entry.entries)} lines, {entry.edited} edited or new example(s)). "
            "The app may have been closed without saving. Recover them?"
        )

        def done(choice: str | None) -> None:
            self._asking = False
            if choice == "recover":
                self.note = journal.recover(self.dataset, entry)
                self._journal_due = True
                self._reset_views()
            else:
                self.discard_journal()
                self.note = "journal discarded"
                self.update_status()

        self.app.push_screen(
            Choice("Recover unsaved edits?", body, [("recover", "Recover"), ("discard", "Discard")]), done
        )

    def request_quit(self) -> None:
        if not self.dataset.dirty:
            self.discard_journal()
            self.app.exit()
            return

        def done(choice: str | None) -> None:
            if choice == "save":
                self._quit_after_save = True
                self.action_save()
            elif choice == "discard":
                self.discard_journal()
                self.app.exit()

        self.app.push_screen(
            Choice(
                "Unsaved changes",
                f"{self.path.name} has unsaved changes.",
                [("save", "Save and quit"), ("discard", "Quit without saving"), ("cancel", "Cancel")],
            ),
            done,
        )
