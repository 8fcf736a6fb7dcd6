"""Tickets on the local table, Jira or ServiceNow; reviewer decisions resume processes.

Public surface (the composition root wires these):

- :func:`build_ticket_service` -> :class:`TicketService` (+ resolver, store) from ``Settings``
- :func:`register_ticket_handlers` (topic ``ticket.create``)
- :class:`TicketWebhookReceiver` (``handle_jira_webhook`` / ``handle_servicenow_webhook``)
- :class:`TicketPoller` (``poll_once`` / ``run``)
"""

from .backend import (
    DEFAULT_TERMINAL_STATUSES,
    SYSTEMS,
    TICKET_KINDS,
    Ticket,
    TicketBackend,
    TicketKind,
    TicketRequest,
    TicketSystemName,
    ticket_ref,
)
from .errors import (
    AmbiguousTicketError,
    TicketSystemError,
    WebhookAuthenticationError,
    WebhookSignatureError,
)
from .factory import TicketComponents, build_ticket_components
from .handlers import register_ticket_handlers
from .local import LocalTicketBackend
from .poller import TicketPoller
from .resolution import RESOLVED_MESSAGE, MessageCorrelator, Resolution, TicketResolver
from .service import TicketService
from .store import TicketStore
from .webhooks import TicketWebhookReceiver, WebhookOutcome

__all__ = [
    "AmbiguousTicketError", "DEFAULT_TERMINAL_STATUSES", "LocalTicketBackend",
    "MessageCorrelator", "RESOLVED_MESSAGE", "Resolution", "SYSTEMS", "TICKET_KINDS", "Ticket",
    "TicketBackend", "TicketComponents", "TicketKind", "TicketPoller", "TicketRequest",
    "TicketResolver", "TicketService", "TicketStore", "TicketSystemError", "TicketSystemName",
    "TicketWebhookReceiver", "WebhookAuthenticationError", "WebhookOutcome",
    "WebhookSignatureError", "build_ticket_components", "register_ticket_handlers", "ticket_ref",
]
