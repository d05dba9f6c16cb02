"""The executor the app's thread workers run on: daemon threads that quitting does not wait for.

Textual runs `@work(thread=True)` in the event loop's default executor, and `asyncio.run` joins
that executor's threads before `App.run` returns (as the interpreter does at exit for any
ThreadPoolExecutor). A whole-file lint of a huge file would then hold ctrl+q for as long as it
runs. The workers check for cancellation between records; this executor makes sure that what is
left (one long rule or regex on a huge record) is abandoned instead of waited for. Saving is not
affected: the app quits after a save only once the save has reported back. No textual here.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class DaemonExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor (asyncio accepts no other) whose tasks each get a daemon thread of
    their own, never one of the pool's threads (which the interpreter joins at exit)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="intone-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons and the workers were told to stop."""
