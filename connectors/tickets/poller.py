"""The fallback for ticket systems that cannot reach us: ask them, on an interval.

Each round reads every ticket whose decision has not been delivered yet (from the local
index), refreshes its status from its system, and resolves the terminal ones. Delivery is
once per ticket whatever mix of webhook, poller and local transition reports it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from engine.errors import NotFoundError

from .backend import TicketBackend
from .errors import TicketSystemError
from .resolution import Resolution, TicketResolver
from .store import TicketStore

log = logging.getLogger(__name__)


class TicketPoller:
    """Polls open tickets on every configured system.

    Args:
        store, resolver: the tickets table and the resolve-once delivery.
        backends: back ends by system name; tickets of other systems are skipped.
    """

    def __init__(self, store: TicketStore, resolver: TicketResolver,
                 backends: Mapping[str, TicketBackend]) -> None:
        self.store = store
        self.resolver = resolver
        self.backends = dict(backends)

    def poll_once(self) -> list[Resolution]:
        """One round; returns what happened to each ticket found in a terminal status.

        A system that is down is logged and skipped, so one outage does not stop decisions
        from the others.
        """
        results: list[Resolution] = []
        down: set[str] = set()
        for ticket in self.store.list(unresolved_only=True):
            backend = self.backends.get(ticket.system)
            if backend is None or ticket.system in down:
                continue
            if ticket.system == "local":
                current = ticket  # the table is the ticket; only undelivered decisions matter
            else:
                try:
                    current = backend.get(ticket.key)
                except TicketSystemError as exc:
                    log.warning("ticket poll: %s", exc)
                    down.add(ticket.system)
                    continue
                except NotFoundError:
                    log.warning("ticket poll: %s ticket %s no longer exists", ticket.system,
                                ticket.key)
                    continue
                if current.status != ticket.status or current.fields != ticket.fields:
                    self.store.update_status(ticket.key, current.status, current.fields,
                                             system=ticket.system, event="polled")
            if self.resolver.is_terminal(ticket.system, current.status):
                fields = {**ticket.fields, **current.fields}
                results.append(self.resolver.resolve(ticket.system, ticket.key,
                                                     current.status, fields))
        return results

    def run(self, stop: threading.Event, interval: float) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (for a worker thread)."""
        while not stop.wait(interval):
            try:
                self.poll_once()
            except Exception:  # keep polling: one bad round must not end the thread
                log.exception("ticket poll round failed")
