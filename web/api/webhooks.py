"""Reviewer decisions pushed by Jira and ServiceNow.

Authentication: a webhook is authenticated by its own signature, not by ``MLC_API_TOKEN``
(Jira and ServiceNow cannot send our bearer token). So a webhook route skips the token check
only while its secret is configured (``MLC_JIRA_WEBHOOK_SECRET`` /
``MLC_SERVICENOW_WEBHOOK_SECRET``, see :func:`webhook_paths_open`), and then every delivery
must carry a valid signature (401 missing, 403 wrong). Without a secret the route keeps the
token check and refuses every delivery with 403: an unsigned webhook never resumes a process.

The signature covers the raw body, so the body is handed over exactly as received.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from engine.errors import MlcError

if TYPE_CHECKING:
    from connectors.tickets import WebhookOutcome

from ..context import WebSettings, application, services
from ..openapi import operation

bp = Blueprint("webhooks", __name__, url_prefix="/api")

# route -> the Settings attribute holding the secret that authenticates it
WEBHOOK_SECRETS = {"/api/webhooks/jira": "jira_webhook_secret",
                   "/api/webhooks/servicenow": "servicenow_webhook_secret"}


class WebhookNotConfigured(MlcError):
    """No secret is configured for this webhook, so no delivery can be trusted."""

    code = "webhook_not_configured"
    status = 403


def webhook_paths_open(settings: WebSettings) -> set[str]:
    """The webhook routes that authenticate by signature, so need no API token."""
    return {path for path, attr in WEBHOOK_SECRETS.items() if getattr(settings, attr, None)}


def _receive(path: str,
             handle: Callable[[bytes, Mapping[str, str]], WebhookOutcome]) -> Response:
    attr = WEBHOOK_SECRETS[path]
    if not getattr(application().settings, attr, None):
        raise WebhookNotConfigured(f"webhook deliveries are refused: set MLC_{attr.upper()}")
    # a repeated header: the last value, as the receiver's own lower-casing keeps it
    outcome = handle(request.get_data(cache=True), dict(request.headers.items()))
    return jsonify(outcome.to_dict())


@operation(bp, "/webhooks/jira", "POST",
           responses={200: "handled (outcome: resolved, not_terminal, duplicate, ignored...)",
                      401: "no X-Hub-Signature", 403: "wrong signature or no secret set"})
def jira() -> ResponseReturnValue:
    """Jira ``jira:issue_updated``, signed ``X-Hub-Signature: sha256=<HMAC of the body>``."""
    return _receive("/api/webhooks/jira", services().tickets.webhooks.handle_jira_webhook)


@operation(bp, "/webhooks/servicenow", "POST",
           responses={200: "handled", 401: "no X-MLC-Webhook-Secret",
                      403: "wrong secret or no secret set"})
def servicenow() -> ResponseReturnValue:
    """ServiceNow business-rule REST message ``{"number", "state", ...}`` with the shared secret."""
    return _receive("/api/webhooks/servicenow",
                    services().tickets.webhooks.handle_servicenow_webhook)
