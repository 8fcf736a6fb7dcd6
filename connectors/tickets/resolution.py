"""Delivering a reviewer's decision to the waiting process, exactly once.

Every source of decisions (Jira webhook, ServiceNow webhook, local transition, poller) ends
here, so the rules live in one place: only terminal statuses resume a process, the message is
``ticket.resolved`` correlated by the ticket's identity (system, key), and a ticket's
resolution is delivered once.

The identity travels as ``TICKET_REF`` (``jira:MLC-1``), which ``ticket.create`` sets. An
instance that waits without it (started before ``TICKET_REF`` existed, or whose task's output
mappings leave it out) still gets the decision of the ticket it opened: the ticket index
records that instance, and the message then goes to it alone, correlated by ``TICKET_KEY``.
A bare key never resumes anything else: a Jira ``MLC-1`` cannot resume the process waiting on
the local ``MLC-1``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.errors import NotFoundError

from .backend import DEFAULT_TERMINAL_STATUSES, Ticket, is_terminal, ticket_ref
from .store import TicketStore

log = logging.getLogger(__name__)

RESOLVED_MESSAGE = "ticket.resolved"
EXPIRATION_FIELD = "Expiration Date"
REF_VARIABLE = "TICKET_REF"
KEY_VARIABLE = "TICKET_KEY"


class MessageCorrelator(Protocol):
    """The part of the engine facade that resumes waiting instances (``engine.Engine``)."""

    def correlate_message(self, name: str, *, business_key: str | None = None,
                          correlation: dict[str, Any] | None = None,
                          variables: dict[str, Any] | None = None,
                          instance_id: str | None = None) -> list[str]: ...


@dataclass(frozen=True)
class Resolution:
    """What happened to one reported status.

    Attributes:
        outcome: ``resolved`` (a process resumed), ``not_terminal`` (status is not a decision),
            ``already_resolved`` (delivered before), ``not_waiting`` (no instance waits; a
            later delivery may try again).
    """

    outcome: str
    ticket_key: str
    status: str
    instance_ids: list[str] = field(default_factory=list)
    system: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "system": self.system, "ticket_key": self.ticket_key,
                "status": self.status, "instance_ids": list(self.instance_ids),
                "message": self.message}


def resolution_variables(status: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The variables the ``ticket.resolved`` message carries into the process."""
    variables: dict[str, Any] = {"TICKET_STATUS": status, "TICKET_FIELDS": dict(fields)}
    expiration = fields.get(EXPIRATION_FIELD)
    if expiration not in (None, ""):
        variables["EXPIRATION_DATE"] = expiration
    return variables


class TicketResolver:
    """Turns a ticket's terminal status into one ``ticket.resolved`` message."""

    def __init__(self, store: TicketStore, correlator: MessageCorrelator,
                 terminal_statuses: Mapping[str, Sequence[str]] | None = None) -> None:
        self.store = store
        self.correlator = correlator
        self.terminal_statuses: dict[str, Sequence[str]] = dict(DEFAULT_TERMINAL_STATUSES)
        self.terminal_statuses.update(terminal_statuses or {})

    def is_terminal(self, system: str, status: str) -> bool:
        return is_terminal(status, self.terminal_statuses.get(system, ()))

    def resolve(self, system: str, key: str, status: str,
                fields: Mapping[str, Any] | None = None) -> Resolution:
        """Deliver ``status`` for ticket ``key`` if it is terminal and not delivered yet.

        Tickets unknown to the local index (opened by hand, or before the index existed) are
        still correlated; they just cannot be protected against double delivery.
        """
        fields = dict(fields or {})
        if not self.is_terminal(system, status):
            decisions = ", ".join(self.terminal_statuses.get(system, ())) or "none configured"
            return Resolution("not_terminal", key, status, system=system, message=(
                f"{status} is not a decision: the process keeps waiting until the ticket "
                f"reaches one of {decisions}"))
        ticket = self.store.find(key, system)
        if ticket is not None and not self.store.claim_resolution(system, key):
            return Resolution("already_resolved", key, status, system=system,
                              message=f"{key}'s decision was delivered before")
        ref = ticket_ref(system, key)
        try:
            instance_ids = self._deliver(ticket, ref, key, resolution_variables(status, fields))
        except NotFoundError:
            if ticket is not None:
                self.store.release_resolution(system, key)
            log.info("ticket %s reached %s but no process waits for it", ref, status)
            return Resolution("not_waiting", key, status, system=system,
                              message=f"{status} is recorded, but no process waits for {key}")
        except Exception:
            if ticket is not None:
                self.store.release_resolution(system, key)
            raise
        log.info("ticket %s reached %s: resumed %s", ref, status, instance_ids)
        return Resolution("resolved", key, status, list(instance_ids or []), system=system,
                          message=f"{status} resumed the waiting process")

    def _deliver(self, ticket: Ticket | None, ref: str, key: str,
                 variables: dict[str, Any]) -> list[str]:
        try:
            return self.correlator.correlate_message(
                RESOLVED_MESSAGE, correlation={REF_VARIABLE: ref}, variables=variables)
        except NotFoundError:
            if ticket is None or not ticket.instance_id:
                raise
        # waiting without TICKET_REF: only the instance that opened this very ticket
        return self.correlator.correlate_message(
            RESOLVED_MESSAGE, correlation={KEY_VARIABLE: key}, variables=variables,
            instance_id=ticket.instance_id)
