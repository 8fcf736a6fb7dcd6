"""Jira and ServiceNow webhooks: authenticate, parse, de-duplicate, resolve.

Framework-free on purpose: the web layer passes the raw body and headers and turns the
result (or the :class:`~engine.errors.MlcError` raised) into an HTTP answer. The signature is
computed over the *raw* body, so the web layer must not re-serialise parsed JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import jsonsafe
from engine.errors import ConfigurationError, ValidationError

from .errors import TicketSystemError, WebhookAuthenticationError, WebhookSignatureError
from .resolution import TicketResolver
from .store import TicketStore

log = logging.getLogger(__name__)

JIRA_SIGNATURE_HEADER = "X-Hub-Signature"
JIRA_DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
SERVICENOW_SECRET_HEADER = "X-MLC-Webhook-Secret"
SERVICENOW_DELIVERY_HEADER = "X-MLC-Delivery-Id"

FieldNamer = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Raw fields as a system sends them -> fields by display name (a back end's ``fields_by_name``)."""


@dataclass(frozen=True)
class WebhookOutcome:
    """What a delivery did. The web layer answers 200 with :meth:`to_dict` for all of them.

    ``outcome`` is one of ``resolved``, ``not_terminal``, ``already_resolved``,
    ``not_waiting`` (see :class:`~connectors.tickets.resolution.Resolution`), ``duplicate``
    (this delivery id was handled before) or ``ignored`` (not a status change).
    """

    outcome: str
    ticket_key: str | None = None
    status: str | None = None
    instance_ids: list[str] = field(default_factory=list)
    reason: str = ""
    system: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "system": self.system, "ticket_key": self.ticket_key,
                "status": self.status, "instance_ids": list(self.instance_ids),
                "reason": self.reason}


def jira_signature(secret: str, raw_body: bytes) -> str:
    """The ``X-Hub-Signature`` value Jira sends for ``raw_body``."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


class TicketWebhookReceiver:
    """Receives reviewer decisions pushed by Jira and ServiceNow.

    Args:
        store, resolver: the tickets table and the resolve-once delivery.
        jira_secret: ``MLC_JIRA_WEBHOOK_SECRET``; without it Jira webhooks are refused.
        servicenow_secret: ``MLC_SERVICENOW_WEBHOOK_SECRET``; likewise.
        field_namers: per system, a function turning the pushed raw fields into fields by
            display name (the Jira / ServiceNow back end's ``fields_by_name``).
    """

    def __init__(self, store: TicketStore, resolver: TicketResolver, *,
                 jira_secret: str | None = None, servicenow_secret: str | None = None,
                 field_namers: Mapping[str, FieldNamer] | None = None) -> None:
        self.store = store
        self.resolver = resolver
        self._jira_secret = jira_secret
        self._servicenow_secret = servicenow_secret
        self.field_namers = dict(field_namers or {})

    def handle_jira_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Handle one ``POST /api/webhooks/jira`` delivery."""
        headers = _lower(headers)
        if not self._jira_secret:
            raise ConfigurationError("Jira webhooks need MLC_JIRA_WEBHOOK_SECRET")
        given = headers.get(JIRA_SIGNATURE_HEADER.lower())
        if not given:
            raise WebhookAuthenticationError(f"missing {JIRA_SIGNATURE_HEADER} header")
        if not hmac.compare_digest(jira_signature(self._jira_secret, raw_body).encode(),
                                   given.strip().encode()):
            raise WebhookSignatureError(f"{JIRA_SIGNATURE_HEADER} does not match the body")
        delivery_id = headers.get(JIRA_DELIVERY_HEADER.lower())
        if delivery_id and self.store.delivery_seen("jira", delivery_id):
            return WebhookOutcome("duplicate", reason=f"delivery {delivery_id} already handled",
                                  system="jira")

        payload = _json(raw_body)
        outcome = self._jira_outcome(payload)
        if delivery_id:
            self.store.record_delivery("jira", delivery_id, outcome.outcome)
        return outcome

    def handle_servicenow_webhook(self, raw_body: bytes,
                                  headers: Mapping[str, str]) -> WebhookOutcome:
        """Handle one ``POST /api/webhooks/servicenow`` delivery.

        The payload is what an outbound REST message of a business rule on the incident table
        sends: ``{"number": "INC0010001", "state": "6" | "Resolved", <columns>...}``.
        """
        headers = _lower(headers)
        if not self._servicenow_secret:
            raise ConfigurationError("ServiceNow webhooks need MLC_SERVICENOW_WEBHOOK_SECRET")
        given = headers.get(SERVICENOW_SECRET_HEADER.lower())
        if not given:
            raise WebhookAuthenticationError(f"missing {SERVICENOW_SECRET_HEADER} header")
        if not hmac.compare_digest(self._servicenow_secret.encode(), given.encode()):
            raise WebhookSignatureError(f"{SERVICENOW_SECRET_HEADER} is wrong")
        delivery_id = headers.get(SERVICENOW_DELIVERY_HEADER.lower())
        if delivery_id and self.store.delivery_seen("servicenow", delivery_id):
            return WebhookOutcome("duplicate", reason=f"delivery {delivery_id} already handled",
                                  system="servicenow")

        from .servicenow_backend import state_label

        payload = _json(raw_body)
        key, status = payload.get("number"), state_label(payload.get("state"))
        if not key or not status:
            raise ValidationError("ServiceNow webhook body needs 'number' and 'state'")
        fields = dict(_object(payload.get("fields"), "fields"))
        fields.update(self._named_fields("servicenow", payload))
        outcome = self._resolve("servicenow", str(key), status, fields)
        if delivery_id:
            self.store.record_delivery("servicenow", delivery_id, outcome.outcome)
        return outcome

    # -- helpers -------------------------------------------------------------------------

    def _jira_outcome(self, payload: Mapping[str, Any]) -> WebhookOutcome:
        event = payload.get("webhookEvent")
        issue = _object(payload.get("issue"), "issue")
        key = issue.get("key")
        if event != "jira:issue_updated" or not key:
            return WebhookOutcome("ignored", key, reason=f"event {event!r} is not an update",
                                  system="jira")
        items = _object(payload.get("changelog"), "changelog").get("items") or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValidationError("webhook 'changelog.items' must be a list of objects")
        change = next((i for i in items if i.get("field") == "status"
                       or i.get("fieldId") == "status"), None)
        if change is None:
            return WebhookOutcome("ignored", key, reason="no status change", system="jira")
        status = str(change.get("toString") or "")
        raw_fields = _object(issue.get("fields"), "issue.fields")
        return self._resolve("jira", str(key), status, self._named_fields("jira", raw_fields))

    def _resolve(self, system: str, key: str, status: str,
                 fields: dict[str, Any]) -> WebhookOutcome:
        if self.store.find(key, system) is not None:
            self.store.update_status(key, status, fields, system=system, event="webhook")
        resolution = self.resolver.resolve(system, key, status, fields)
        return WebhookOutcome(resolution.outcome, key, status, resolution.instance_ids,
                              system=system)

    def _named_fields(self, system: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        namer = self.field_namers.get(system)
        if namer is not None:
            try:
                return namer(raw)
            except TicketSystemError as exc:  # field list unreachable: keep the ids
                log.warning("could not name %s fields: %s", system, exc)
        return {k: v for k, v in raw.items() if k.startswith(("customfield_", "u_"))
                and v not in (None, "")}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _object(value: Any, name: str) -> Mapping[str, Any]:
    """A JSON object member of a webhook body (absent or null reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"webhook '{name}' must be a JSON object")
    return value


def _json(raw_body: bytes) -> dict[str, Any]:
    payload = jsonsafe.loads(raw_body, "webhook body")
    if not isinstance(payload, dict):
        raise ValidationError("webhook body must be a JSON object")
    return payload
