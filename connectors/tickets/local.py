"""The embedded ticket back end: tickets in the project's own database.

It is the default so that a laptop without Jira runs the same processes; reviewers use
``mlc tickets transition`` or ``POST /api/tickets/local/{key}/transition`` instead of Jira.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import ValidationError

from .backend import DEFAULT_TERMINAL_STATUSES, Ticket, TicketBackend, TicketRequest
from .resolution import Resolution, TicketResolver
from .store import TicketStore

OPEN_STATUS = "Open"
WORKING_STATUSES = (OPEN_STATUS, "In Progress", "In Review")  # the process keeps waiting


class LocalTicketBackend(TicketBackend):
    """Tickets numbered ``MLC-<n>`` in the ``tickets`` table.

    Args:
        store: the tables.
        resolver: when given, a transition to a terminal status resumes the waiting process.
        terminal_statuses: what ``list_open`` leaves out (the resolver has its own copy).
    """

    system = "local"

    def __init__(self, store: TicketStore, resolver: TicketResolver | None = None,
                 terminal_statuses: Sequence[str] | None = None) -> None:
        self.store = store
        self.resolver = resolver
        if terminal_statuses is None:
            terminal_statuses = (resolver.terminal_statuses.get("local")
                                 if resolver else DEFAULT_TERMINAL_STATUSES["local"])
        self.terminal_statuses = tuple(terminal_statuses or ())

    def create(self, request: TicketRequest) -> Ticket:
        ticket, _created = self.store.insert_local(
            kind=request.kind, summary=request.summary, description=request.description,
            status=OPEN_STATUS, fields=dict(request.fields),
            idempotency_key=request.idempotency_key, instance_id=request.instance_id)
        return ticket

    def get(self, key: str) -> Ticket:
        return self.store.get(key, self.system)

    def find_by_idempotency_key(self, idempotency_key: str) -> Ticket | None:
        ticket = self.store.find_by_idempotency_key(idempotency_key)
        return ticket if ticket and ticket.system == self.system else None

    def comment(self, key: str, body: str) -> None:
        self.store.add_event(key, "comment", body, self.system)

    def transition(self, key: str, status: str, fields: dict[str, Any] | None = None) -> Ticket:
        return self.transition_and_resolve(key, status, fields)[0]

    def transition_and_resolve(self, key: str, status: str,
                               fields: dict[str, Any] | None = None
                               ) -> tuple[Ticket, Resolution | None]:
        """Transition, then deliver a terminal status to the waiting process.

        The status change is committed first: a reviewer's decision is recorded even when no
        process waits any more (the resolution says ``not_waiting``).

        Raises:
            ValidationError: ``status`` is none of :meth:`statuses` (the message lists them).
        """
        ticket = self.store.update_status(key, self.known_status(status), fields,
                                          system=self.system)
        resolution = None
        if self.resolver is not None:
            resolution = self.resolver.resolve(self.system, key, ticket.status, ticket.fields)
        return ticket, resolution

    def statuses(self) -> tuple[str, ...]:
        """Every status a local ticket may take: working ones, then the decisions."""
        return WORKING_STATUSES + self.terminal_statuses

    def known_status(self, status: str) -> str:
        """``status`` spelled as the back end spells it (any case is accepted)."""
        wanted = status.strip().lower()
        found = next((s for s in self.statuses() if s.lower() == wanted), None)
        if found is None:
            raise ValidationError(
                f"{status!r} is not a status of local tickets: the decisions "
                f"{', '.join(self.terminal_statuses)} resume the waiting process; "
                f"{', '.join(WORKING_STATUSES)} keep it waiting")
        return found

    def list_open(self) -> list[Ticket]:
        return [t for t in self.store.list(system=self.system)
                if t.status.lower() not in {s.lower() for s in self.terminal_statuses}]
