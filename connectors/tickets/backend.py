"""The ticket back-end interface and the values that cross it.

The ``ticket.create`` handler, the webhooks, the poller and the CLI only speak this interface,
so Jira, ServiceNow and the local table are interchangeable (and the ServiceNow client can be
swapped without touching them).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import unquote, urlsplit, urlunsplit

TicketKind = Literal["test_failure", "review", "rejection", "error"]
TicketSystemName = Literal["local", "jira", "servicenow"]
TICKET_KINDS: tuple[str, ...] = get_args(TicketKind)
SYSTEMS: tuple[str, ...] = get_args(TicketSystemName)

DEFAULT_TERMINAL_STATUSES: dict[str, tuple[str, ...]] = {
    "local": ("Done", "Rejected"),
    "jira": ("Done", "Rejected"),
    "servicenow": ("Resolved", "Closed", "Canceled"),
}


@dataclass(frozen=True)
class TicketRequest:
    """What to open: the back end maps it onto its own fields.

    Attributes:
        kind: one of :data:`TICKET_KINDS`.
        summary: one-line title.
        description: readable body (already rendered for the target system).
        idempotency_key: the external task's key; the back end stores it on the ticket.
        fields: extra fields by *display name* (e.g. ``{"Expiration Date": "2027-06-30"}``).
        labels: extra labels / tags.
        instance_id: the process instance that waits for the ticket.
        issue_type: Jira issue type (ignored elsewhere).
    """

    kind: str
    summary: str
    description: str
    idempotency_key: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    instance_id: str | None = None
    issue_type: str | None = None


def ticket_ref(system: str, key: str) -> str:
    """A ticket's one identity as a single value, ``system:key`` (``jira:MLC-1``).

    A key alone is ambiguous: local tickets are ``MLC-<n>`` and so is the default Jira
    project. Neither a system name nor a Jira or ServiceNow key contains a colon.
    """
    return f"{system}:{key}"


@dataclass(frozen=True)
class Ticket:
    """A ticket as the rest of the project sees it, whatever system holds it.

    Its identity is the pair (``system``, ``key``), written :attr:`ref`.
    """

    key: str
    system: str
    status: str
    summary: str = ""
    description: str = ""
    kind: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    instance_id: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def ref(self) -> str:
        return ticket_ref(self.system, self.key)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("created_at", "updated_at"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        out["ref"] = self.ref
        return out


class TicketBackend(ABC):
    """One ticket system. Every method may raise :class:`~connectors.tickets.errors.TicketSystemError`
    (system unreachable) or :class:`~engine.errors.NotFoundError` (no such ticket)."""

    system: str = ""

    @abstractmethod
    def create(self, request: TicketRequest) -> Ticket:
        """Open a ticket. Callers look up ``find_by_idempotency_key`` first."""

    @abstractmethod
    def get(self, key: str) -> Ticket:
        """The ticket's current status and fields (by display name)."""

    @abstractmethod
    def find_by_idempotency_key(self, idempotency_key: str) -> Ticket | None:
        """The ticket opened earlier for this task, if any: what makes retries safe."""

    @abstractmethod
    def comment(self, key: str, body: str) -> None:
        """Add a comment."""

    @abstractmethod
    def transition(self, key: str, status: str, fields: dict[str, Any] | None = None) -> Ticket:
        """Move the ticket to ``status``, setting ``fields`` (by display name) on the way."""

    @abstractmethod
    def list_open(self) -> list[Ticket]:
        """Tickets opened by MLC that have not reached a terminal status."""


def idempotency_tag(idempotency_key: str, prefix: str = "mlc-idem-") -> str:
    """A short, label-safe stand-in for a task's idempotency key.

    Jira labels may not contain spaces and are limited in length; a hash keeps any key valid
    while staying unique for practical purposes.
    """
    return prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:secret@jira.example`` -> (``https://jira.example``, user, secret).

    A back end keeps only the bare URL, which its error messages, ticket links and logs may
    show; credentials written into the URL are used as credentials and nothing else.
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            unquote(parts.username or "") or None, unquote(parts.password or "") or None)


def is_terminal(status: str, terminal_statuses: Iterable[str]) -> bool:
    """Case-insensitive membership, since people configure "done" as often as "Done"."""
    wanted = status.strip().lower()
    return any(wanted == s.strip().lower() for s in terminal_statuses)
