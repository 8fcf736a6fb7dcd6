"""Tickets opened by processes (the local back end's review UI, and the index of Jira /
ServiceNow tickets), and transitions: a decision resumes the waiting process.

A ticket is (system, key): ``/api/tickets/{system}/{key}``. ``/api/tickets/{key}`` still
works while only one system has that key, and answers 409 naming the systems otherwise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from connectors.tickets import SYSTEMS, TicketKind, TicketSystemName
from engine.errors import NotFoundError

from ..context import services
from ..openapi import operation
from ..schemas import Body, Name, Query

bp = Blueprint("tickets", __name__, url_prefix="/api")


class TicketQuery(Query):
    system: TicketSystemName | None = None
    status: Name | None = None
    kind: TicketKind | None = None
    instance_id: Name | None = None
    open: bool | None = Field(default=None, description="true: not decided yet; false: decided")
    limit: int = Field(default=100, ge=1, le=500)


STATUSES_DOC = (
    "local tickets: Open, In Progress, In Review (the process keeps waiting) or Done, "
    "Rejected (decisions: they resume it); any other status is refused with 400. Jira: a "
    "status or transition name of the issue's workflow (400 lists the possible ones). "
    "ServiceNow: New, In Progress, On Hold, or the decisions Resolved, Closed, Canceled.")


class TransitionRequest(Body):
    status: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$",
                        description=STATUSES_DOC)
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description='e.g. {"Expiration Date": "2027-06-30"}')


def tickets() -> Any:
    return services().tickets


@operation(bp, "/tickets", query=TicketQuery)
def list_tickets(query: TicketQuery) -> Response:
    """Tickets, oldest first, filtered by system, status, kind, instance or decided-ness."""
    parts = tickets()
    # decided-ness depends on each system's (case-insensitive) terminal statuses, so only
    # that filter is applied here; with it, read further than limit before cutting
    found = parts.store.list(system=query.system,
                             statuses=[query.status] if query.status else None,
                             kind=query.kind, instance_id=query.instance_id,
                             limit=query.limit if query.open is None else 10_000)
    if query.open is not None:
        found = [t for t in found
                 if query.open != parts.resolver.is_terminal(t.system, t.status)]
    return jsonify([t.to_dict() for t in found[:query.limit]])


def _system(system: str | None) -> str | None:
    if system is not None and system not in SYSTEMS:
        raise NotFoundError(f"no ticket system {system!r}; systems are {', '.join(SYSTEMS)}")
    return system


def _ticket(key: str, system: str | None = None) -> Response:
    parts = tickets()
    ticket = parts.store.get(key, _system(system))
    return jsonify({**ticket.to_dict(), "events": parts.store.events(key, ticket.system)})


def _transition(key: str, body: TransitionRequest, system: str | None = None) -> Response:
    ticket, resolution = tickets().transition(key, body.status, body.fields, _system(system))
    return jsonify({"ticket": ticket.to_dict(),
                    "resolution": resolution.to_dict() if resolution else None})


@operation(bp, "/tickets/<system>/<key>",
           responses={200: "the ticket and its events", 404: "unknown ticket or system"})
def get_ticket(system: str, key: str) -> ResponseReturnValue:
    """One ticket, (system, key), with its transitions, comments and webhook updates."""
    return _ticket(key, system)


TRANSITIONED = ("moved; resolution.outcome says whether a process resumed (resolved, "
                "not_terminal, already_resolved, not_waiting) and resolution.message says it "
                "in words")
NOT_A_STATUS = "not a status of the ticket's system (the message lists them)"


@operation(bp, "/tickets/<system>/<key>/transition", "POST", body=TransitionRequest,
           responses={200: TRANSITIONED, 400: NOT_A_STATUS,
                      404: "unknown ticket", 502: "Jira / ServiceNow unreachable"})
def transition(system: str, key: str, body: TransitionRequest) -> ResponseReturnValue:
    """Move a ticket; a decision (Done, Rejected...) sends ``ticket.resolved`` to its process.

    The statuses each system takes are in the body's ``status`` description (STATUSES_DOC).
    """
    return _transition(key, body, system)


@operation(bp, "/tickets/<key>", responses={200: "the ticket and its events", 404: "unknown",
                                             409: "the key exists on several systems"})
def get_ticket_by_key(key: str) -> ResponseReturnValue:
    """One ticket by key alone, while only one system has that key."""
    return _ticket(key)


@operation(bp, "/tickets/<key>/transition", "POST", body=TransitionRequest,
           responses={200: TRANSITIONED, 400: NOT_A_STATUS,
                      404: "unknown ticket", 409: "the key exists on several systems",
                      502: "Jira / ServiceNow unreachable"})
def transition_by_key(key: str, body: TransitionRequest) -> ResponseReturnValue:
    """Move a ticket named by key alone, while only one system has that key."""
    return _transition(key, body)
