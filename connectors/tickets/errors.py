"""Errors specific to ticket systems and their webhooks.

They derive from the project's :class:`~engine.errors.MlcError` so the REST layer and the CLI
turn them into a status code or a one-line reason without knowing about tickets.
"""

from __future__ import annotations

from engine.errors import ConflictError, MlcError


class AmbiguousTicketError(ConflictError):
    """A bare key names tickets on several systems; the caller must say which (HTTP 409)."""

    code = "ambiguous_ticket"


class TicketSystemError(MlcError):
    """A remote ticket system (Jira, ServiceNow) failed or could not be reached.

    Raised by the back ends with a message that never contains credentials (the client
    libraries' own errors echo request headers, so they are never passed on). A ``ticket.create``
    handler lets it propagate, which makes the engine retry the task.
    """

    code = "ticket_system_error"
    status = 502


class WebhookAuthenticationError(MlcError):
    """A webhook request carries no signature or shared secret at all (HTTP 401)."""

    code = "webhook_unauthenticated"
    status = 401


class WebhookSignatureError(WebhookAuthenticationError):
    """A webhook request's signature or shared secret does not match (HTTP 403)."""

    code = "webhook_forbidden"
    status = 403
