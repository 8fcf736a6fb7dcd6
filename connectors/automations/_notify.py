"""``on_success`` / ``on_error``: the automation's Slack webhook or custom webhook, sent with
the senders of :mod:`connectors.notifications` and recorded in its feed (once per task).

Fields sent (and shown in Slack): ``execution_date``, ``model_id``, ``automation``,
``status``, ``build_id``, ``instance_id``, ``trigger``, ``outcome``, ``deployed``, the metric
value vs threshold and ``decision`` when judged, ``failed_step`` and ``reason`` on failure.
A custom webhook's ``data`` is merged in; its URL and headers are never stored in the feed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.db import utcnow
from engine.handlers import TaskContext

from ._declarations import CustomWebhook, SlackNotification

if TYPE_CHECKING:
    from connectors.notifications import NotificationFeed

    from ._service import AutomationService

log = logging.getLogger("mlc.automations")


def run_fields(ctx: TaskContext, status: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "execution_date": utcnow().isoformat(),
        "model_id": ctx.get("MODEL_ID"),
        "automation": ctx.get("AUTOMATION_NAME"),
        "status": status,
        "build_id": ctx.get("BUILD_ID"),
        "instance_id": ctx.instance_id,
        "trigger": ctx.get("TRIGGER"),
        "outcome": ctx.get("AUTOMATION_OUTCOME") or ("failed" if status == "error" else None),
        "deployed": bool(ctx.get("DEPLOYMENT_IDS")),
    }
    if ctx.get("METRIC_NAME") is not None:
        fields.update(metric_name=ctx.get("METRIC_NAME"), metric_value=ctx.get("METRIC_VALUE"),
                      threshold=ctx.get("THRESHOLD_VALUE"), decision=ctx.get("DECISION"))
    if status == "error":
        fields.update(failed_step=ctx.get("FAILED_STEP"), reason=ctx.get("ERROR_REASON"))
    return fields


def run_text(fields: dict[str, Any]) -> str:
    if fields["status"] == "error":
        return (f"Automation {fields['automation']} failed at {fields.get('failed_step') or '?'} "
                f"for model {fields['model_id']}: {fields.get('reason') or 'unknown reason'}")
    outcome = fields.get("outcome") or ("deployed" if fields["deployed"] else "finished")
    decision = f" ({fields['decision']})" if fields.get("decision") else ""
    return (f"Automation {fields['automation']} succeeded for model {fields['model_id']}: "
            f"build {fields['build_id']} {outcome}{decision}")


class AutomationNotifier:
    """Sends an automation's notification for one task, at most once per idempotency key."""

    def __init__(self, service: AutomationService, feed: NotificationFeed,
                 timeout: float | tuple[float, float] = (5.0, 15.0)) -> None:
        self.service = service
        self.feed = feed
        self.timeout = timeout

    def notify(self, ctx: TaskContext, status: str) -> dict[str, Any]:
        from connectors.notifications.message import slack_blocks
        from connectors.notifications.redaction import redact_url
        from connectors.notifications.senders import send_slack, send_webhook

        existing = self.feed.find_by_idempotency_key(ctx.idempotency_key)
        if existing is not None:
            return {"NOTIFICATION_ID": existing.id}
        automation = self.service.automation(ctx.require("AUTOMATION_NAME"))
        target = automation.on_error if status == "error" else automation.on_success
        fields = run_fields(ctx, status)
        text = run_text(fields)
        data = dict(fields)
        if isinstance(target, SlackNotification):
            channel = "slack"
            send_slack(target.webhook, text, slack_blocks(text, fields), timeout=self.timeout)
            data["target"] = redact_url(target.webhook)
        elif isinstance(target, CustomWebhook):
            channel = "webhook"
            payload = {**fields, **target.data, "message": text}
            send_webhook(target.url, payload, method=target.http_method, headers=target.headers,
                         timeout=self.timeout)
            data = {**payload, "target": f"{target.http_method} {redact_url(target.url)}"}
        else:
            channel = "feed"  # nothing configured: the local feed still shows the run
        notification, _ = self.feed.add(channel=channel, status=status, title=text[:255],
                                        text=text, data=data, instance_id=ctx.instance_id,
                                        process_key=ctx.process_key,
                                        idempotency_key=ctx.idempotency_key)
        log.info("automation %s: %s notification %s on %s", automation.name, status,
                 notification.id, channel)
        return {f"NOTIFIED_{status.upper()}": channel}
