"""The ticket systems a deployment can use, and opening a ticket exactly once per task."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from engine.errors import ConfigurationError

from .backend import Ticket, TicketBackend, TicketRequest
from .store import TicketStore

log = logging.getLogger(__name__)


class TicketService:
    """Chooses a back end by system name and keeps the local index of remote tickets.

    Args:
        backends: back ends by system name (``local``, ``jira``, ``servicenow``).
        store: the ``tickets`` table (index of remote tickets, resolve-once marks).
        default_system: used when a process does not name one (``Settings.tickets``).
    """

    def __init__(self, backends: Mapping[str, TicketBackend], store: TicketStore,
                 default_system: str = "local") -> None:
        self.backends = dict(backends)
        self.store = store
        if default_system not in self.backends:
            raise ConfigurationError(
                f"ticket system {default_system!r} is the default but is not configured")
        self.default_system = default_system

    def backend(self, system: str | None = None) -> TicketBackend:
        name = (system or self.default_system).strip().lower()
        try:
            return self.backends[name]
        except KeyError:
            raise ConfigurationError(
                f"ticket system {name!r} is not configured (configured: "
                f"{', '.join(sorted(self.backends))})") from None

    def open_ticket(self, request: TicketRequest, system: str | None = None
                    ) -> tuple[Ticket, bool]:
        """Open a ticket unless one exists for ``request.idempotency_key``; (ticket, created).

        Looked up in the local index first (cheap), then in the remote system itself, which
        covers a worker that died after the remote create but before indexing it.
        """
        backend = self.backend(system)
        key = request.idempotency_key
        if key:
            indexed = self.store.find_by_idempotency_key(key)
            if indexed is not None and indexed.system == backend.system:
                return indexed, False
            existing = backend.find_by_idempotency_key(key)
            if existing is not None:
                self._index(backend, existing, request)
                return existing, False
        ticket = backend.create(request)
        self._index(backend, ticket, request)
        log.info("opened %s ticket %s (%s)", backend.system, ticket.key, request.kind)
        return ticket, True

    def _index(self, backend: TicketBackend, ticket: Ticket, request: TicketRequest) -> None:
        if backend.system == "local":
            return  # the local back end's row is the ticket itself
        self.store.record_remote(replace(
            ticket, kind=ticket.kind or request.kind,
            idempotency_key=ticket.idempotency_key or request.idempotency_key,
            instance_id=ticket.instance_id or request.instance_id,
            summary=ticket.summary or request.summary))
