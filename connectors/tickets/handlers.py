"""The ``ticket.create`` topic: open the ticket a process asks for, once per task.

Inputs (``camunda:properties`` win over variables):

- ``kind`` property or ``TICKET_KIND`` variable: ``test_failure`` | ``review`` |
  ``rejection`` | ``error``.
- ``TICKET_SYSTEM`` variable or ``system`` property: ``local`` | ``jira`` | ``servicenow``;
  default ``Settings.tickets``. With the ``fallback=default`` property a system that is not
  configured here is replaced by the default one (the ticket says which was asked for), so
  a shipped process that names Jira also runs on a machine with local tickets only.
- ``TICKET_FIELDS`` variable: extra fields by display name (``{"Expiration Date": ...}``).
- ``issueType`` property: Jira issue type; ``labels`` property: comma-separated labels.
- ``resultVariable`` property: the variable that receives the key (default ``TICKET_KEY``).
- Output ``TICKET_REF``: the ticket's identity ``system:key`` (``local:MLC-1``), which the
  ``ticket.resolved`` message correlates on; a task with output mappings must map it
  (``<camunda:outputParameter name="TICKET_REF">${TICKET_REF}</camunda:outputParameter>``)
  for the process to wait on the decision. Without it the decision still reaches the
  instance that opened the ticket, which the ticket index remembers.
- the description variables listed in :mod:`connectors.tickets.description`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ValidationError
from engine.handlers import Handler, HandlerRegistry, TaskContext

from .backend import TICKET_KINDS, TicketRequest
from .description import build_ticket_content, render_jira, render_plain
from .resolution import REF_VARIABLE
from .service import TicketService

TOPIC_CREATE = "ticket.create"
DEFAULT_RESULT_VARIABLE = "TICKET_KEY"


def make_create_ticket_handler(service: TicketService) -> Handler:
    """A handler for ``ticket.create`` bound to ``service``."""

    def create_ticket(ctx: TaskContext) -> dict[str, Any]:
        kind = (ctx.properties.get("kind") or ctx.get("TICKET_KIND") or "").strip()
        if kind not in TICKET_KINDS:
            raise ValidationError(f"ticket.create at {ctx.activity_id!r}: kind must be one of "
                                  f"{', '.join(TICKET_KINDS)}, not {kind!r}")
        system = ctx.get("TICKET_SYSTEM") or ctx.properties.get("system") or None
        variables = ctx.variables
        if (system and ctx.properties.get("fallback") == "default"
                and str(system).strip().lower() not in service.backends):
            notes = f"Meant for {system}, which is not configured here."
            variables = {**variables, "TICKET_NOTES": " ".join(
                str(n) for n in (notes, variables.get("TICKET_NOTES")) if n)}
            system = None
        backend = service.backend(system)
        content = build_ticket_content(kind, variables, process_key=ctx.process_key,
                                       instance_id=ctx.instance_id)
        render = render_jira if backend.system == "jira" else render_plain
        labels = tuple(label.strip() for label in ctx.properties.get("labels", "").split(",")
                       if label.strip())
        request = TicketRequest(
            kind=kind, summary=content.summary, description=render(content),
            idempotency_key=ctx.idempotency_key, fields=_fields(ctx.get("TICKET_FIELDS")),
            labels=labels, instance_id=ctx.instance_id,
            issue_type=ctx.properties.get("issueType") or None)
        ticket, _created = service.open_ticket(request, backend.system)
        result_variable = ctx.properties.get("resultVariable") or DEFAULT_RESULT_VARIABLE
        return {result_variable: ticket.key, REF_VARIABLE: ticket.ref}

    return create_ticket


def register_ticket_handlers(registry: HandlerRegistry, service: TicketService) -> None:
    """Register ``ticket.create`` on ``registry`` (called by the composition root)."""
    registry.register(TOPIC_CREATE, make_create_ticket_handler(service))


def _fields(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("TICKET_FIELDS must be a map of field name to value")
    return dict(value)
