"""Watching a running job's row for a cancel request, from whichever node runs the job."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from connectors.registry import JobStore

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # one indexed primary-key read per running job and second


class CancelWatch:
    """Polls ``store`` until closed; on a cancel request calls ``stop`` once and sets
    :attr:`fired`. A cancel may come from any API node or CLI, so the database row is the
    only place every node can see it."""

    def __init__(self, store: JobStore, job_id: str, stop: Callable[[], None],
                 poll_seconds: float = POLL_SECONDS) -> None:
        self._store, self._job_id, self._stop = store, job_id, stop
        self._poll = poll_seconds
        self._closed = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._run, name=f"cancel-{job_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed.wait(self._poll):
            try:
                requested = self._store.cancel_requested(self._job_id)
            except Exception:  # noqa: BLE001 - a missed poll is retried next tick
                log.debug("job %s: cancel poll failed", self._job_id, exc_info=True)
                continue
            if requested:
                self.fired = True
                self._stop()
                return

    def close(self) -> None:
        self._closed.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
