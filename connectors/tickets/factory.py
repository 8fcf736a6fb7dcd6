"""Assembling the ticket parts from ``Settings`` (for the composition root: CLI, app factory)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.db import Database
from engine.errors import ConfigurationError

from .backend import Ticket, TicketBackend
from .jira_backend import JiraTicketBackend
from .local import LocalTicketBackend
from .poller import TicketPoller
from .resolution import MessageCorrelator, Resolution, TicketResolver
from .service import TicketService
from .servicenow_backend import ServiceNowTicketBackend
from .store import TicketStore
from .webhooks import FieldNamer, TicketWebhookReceiver


class TicketSettings(Protocol):
    """The settings the ticket parts read (``mlc.settings.Settings`` has them): passed in by
    the composition root, so this package imports nothing above it."""

    tickets: str
    jira_url: str | None
    jira_user: str | None
    jira_token: str | None
    jira_project: str
    jira_webhook_secret: str | None
    servicenow_url: str | None
    servicenow_user: str | None
    servicenow_password: str | None
    servicenow_webhook_secret: str | None


@dataclass
class TicketComponents:
    """Everything the rest of the project needs from the ticket connector."""

    store: TicketStore
    resolver: TicketResolver
    service: TicketService
    webhooks: TicketWebhookReceiver
    poller: TicketPoller
    local: LocalTicketBackend

    def transition(self, key: str, status: str, fields: Mapping[str, Any] | None = None,
                   system: str | None = None) -> tuple[Ticket, Resolution | None]:
        """Move ticket (``system``, ``key``) to ``status`` (setting ``fields``) on that
        system; a decision (Done, Rejected...) resumes the process waiting on
        ``ticket.resolved``. Without ``system`` the key must name one ticket.

        What ``mlc tickets transition`` and ``POST /api/tickets/{system}/{key}/transition``
        do.

        Raises:
            NotFoundError: no such ticket.
            AmbiguousTicketError: no system given and the key exists on several.
            TicketSystemError: Jira / ServiceNow refused or could not be reached.
        """
        fields = dict(fields or {})
        system = self.store.get(key, system).system
        if system == "local":
            return self.local.transition_and_resolve(key, status, fields)
        ticket = self.service.backend(system).transition(key, status, fields)
        self.store.update_status(key, ticket.status, ticket.fields, system=system)
        return ticket, self.resolver.resolve(system, key, ticket.status,
                                             {**fields, **ticket.fields})


def build_ticket_components(settings: TicketSettings, db: Database, correlator: MessageCorrelator,
                            *, terminal_statuses: Mapping[str, Sequence[str]] | None = None
                            ) -> TicketComponents:
    """Local tickets always; Jira / ServiceNow when their URL is set (required if default).

    Args:
        settings: ``MLC_TICKETS`` picks the default system.
        db: the project's database.
        correlator: the engine facade (``correlate_message``).
        terminal_statuses: per system, overrides of the statuses that count as a decision.
    """
    store = TicketStore(db)
    resolver = TicketResolver(store, correlator, terminal_statuses)
    local = LocalTicketBackend(store, resolver)
    backends: dict[str, TicketBackend] = {"local": local}
    namers: dict[str, FieldNamer] = {}
    if settings.jira_url or settings.tickets == "jira":
        jira = JiraTicketBackend(settings.jira_url or "", settings.jira_user or "",
                                 settings.jira_token or "", settings.jira_project,
                                 terminal_statuses=resolver.terminal_statuses["jira"])
        backends["jira"] = jira
        namers["jira"] = jira.fields_by_name
    if settings.servicenow_url or settings.tickets == "servicenow":
        snow = ServiceNowTicketBackend(
            settings.servicenow_url or "", settings.servicenow_user or "",
            settings.servicenow_password or "",
            terminal_statuses=resolver.terminal_statuses["servicenow"])
        backends["servicenow"] = snow
        namers["servicenow"] = snow.fields_by_name
    if settings.tickets not in backends:
        raise ConfigurationError(f"MLC_TICKETS={settings.tickets!r} is not available")
    service = TicketService(backends, store, settings.tickets)
    webhooks = TicketWebhookReceiver(store, resolver, jira_secret=settings.jira_webhook_secret,
                                     servicenow_secret=settings.servicenow_webhook_secret,
                                     field_namers=namers)
    return TicketComponents(store, resolver, service, webhooks,
                            TicketPoller(store, resolver, backends), local)
