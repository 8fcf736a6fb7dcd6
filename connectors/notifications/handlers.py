"""The ``notify.send`` topic: Slack, a custom webhook, or the local feed.

Inputs (``camunda:properties`` win over variables):

- ``channel`` / ``NOTIFY_CHANNEL``: ``slack`` | ``webhook`` | ``feed``; default ``slack`` when
  ``MLC_SLACK_WEBHOOK`` is set, else ``feed``.
- ``status`` / ``NOTIFY_STATUS``: e.g. ``success`` or ``error`` (default ``success``).
- ``message`` / ``NOTIFY_MESSAGE``: the text; a sentence is made from the fields otherwise.
- webhook only: ``url`` / ``WEBHOOK_URL``, ``method`` / ``WEBHOOK_METHOD`` (default POST),
  ``WEBHOOK_HEADERS`` (dict), ``WEBHOOK_DATA`` (dict of extra fields) and ``data.<name>``
  properties.

Returns ``{"NOTIFICATION_ID": <feed id>}``: never the URL, headers or any secret. Each delivery
is recorded in the feed under the task's idempotency key, so a retried task whose delivery
was recorded does not notify twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from engine.errors import ConfigurationError, ValidationError
from engine.handlers import Handler, HandlerRegistry, TaskContext

from .feed import NotificationFeed
from .message import default_text, slack_blocks, standard_fields
from .redaction import redact_url
from .senders import send_slack, send_webhook

log = logging.getLogger(__name__)

TOPIC_SEND = "notify.send"
CHANNELS = ("slack", "webhook", "feed")


def make_send_notification_handler(feed: NotificationFeed, slack_webhook: str | None = None,
                                   timeout: float | tuple[float, float] = (5.0, 15.0)
                                   ) -> Handler:
    """A handler for ``notify.send``; ``slack_webhook`` is ``Settings.slack_webhook``."""

    def send_notification(ctx: TaskContext) -> dict[str, Any]:
        existing = feed.find_by_idempotency_key(ctx.idempotency_key)
        if existing is not None:
            return {"NOTIFICATION_ID": existing.id}
        channel = _option(ctx, "channel", "NOTIFY_CHANNEL") or (
            "slack" if slack_webhook else "feed")
        if channel not in CHANNELS:
            raise ValidationError(f"notify.send at {ctx.activity_id!r}: channel must be one of "
                                  f"{', '.join(CHANNELS)}, not {channel!r}")
        status = _option(ctx, "status", "NOTIFY_STATUS") or "success"
        fields = standard_fields(ctx, status)
        text = _option(ctx, "message", "NOTIFY_MESSAGE") or default_text(fields)
        data = dict(fields)

        if channel == "slack":
            if not slack_webhook:
                raise ConfigurationError("notify.send to Slack needs MLC_SLACK_WEBHOOK")
            send_slack(slack_webhook, text, slack_blocks(text, fields), timeout=timeout)
        elif channel == "webhook":
            url = _option(ctx, "url", "WEBHOOK_URL")
            if not url:
                raise ValidationError(f"notify.send at {ctx.activity_id!r}: a webhook needs "
                                      "a 'url' property or WEBHOOK_URL variable")
            method = (_option(ctx, "method", "WEBHOOK_METHOD") or "POST").upper()
            extra = {**_mapping(ctx.get("WEBHOOK_DATA"), "WEBHOOK_DATA"),
                     **{k[5:]: v for k, v in ctx.properties.items() if k.startswith("data.")}}
            payload = {**fields, **extra, "message": text}
            send_webhook(url, payload, method=method,
                         headers=_mapping(ctx.get("WEBHOOK_HEADERS"), "WEBHOOK_HEADERS"),
                         timeout=timeout)
            data = {**payload, "target": f"{method} {redact_url(url)}"}

        notification, _ = feed.add(channel=channel, status=status, title=text[:255], text=text,
                                   data=data, instance_id=ctx.instance_id,
                                   process_key=ctx.process_key,
                                   idempotency_key=ctx.idempotency_key)
        log.info("notification %s sent on %s", notification.id, channel)
        return {"NOTIFICATION_ID": notification.id}

    return send_notification


def register_notification_handlers(registry: HandlerRegistry, feed: NotificationFeed,
                                   slack_webhook: str | None = None) -> None:
    """Register ``notify.send`` (called by the composition root with ``Settings.slack_webhook``)."""
    registry.register(TOPIC_SEND, make_send_notification_handler(feed, slack_webhook))


def _option(ctx: TaskContext, prop: str, variable: str) -> str | None:
    value = ctx.properties.get(prop) or ctx.get(variable)
    return str(value).strip() if value not in (None, "") else None


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a map")
    return dict(value)
