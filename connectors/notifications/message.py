"""What a notification says: the standard fields and the Slack text + blocks.

Standard fields (sent to custom webhooks, shown in Slack and stored in the feed):
``execution_date`` (UTC, ISO 8601), ``model_id``, ``process`` (the process key), ``status``
and ``instance_id``; ``automation`` (the ``automation`` property or ``AUTOMATION_NAME``
variable) and ``build_id`` (``BUILD_ID``) only when the process is an automation's build, so a
back test's notification does not carry fields that mean nothing for it.
"""

from __future__ import annotations

from typing import Any

from engine.db import utcnow
from engine.handlers import TaskContext

STATUS_EMOJI = {"success": ":white_check_mark:", "error": ":x:", "failure": ":x:",
                "warning": ":warning:"}


def standard_fields(ctx: TaskContext, status: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "execution_date": utcnow().isoformat(),
        "model_id": ctx.get("MODEL_ID"),
        "process": ctx.process_key,
        "status": status,
        "instance_id": ctx.instance_id,
    }
    automation = ctx.properties.get("automation") or ctx.get("AUTOMATION_NAME")
    if automation:
        fields["automation"] = automation
    if ctx.get("BUILD_ID"):
        fields["build_id"] = ctx.get("BUILD_ID")
    return fields


def default_text(fields: dict[str, Any]) -> str:
    model = f" for model {fields['model_id']}" if fields.get("model_id") else ""
    who = fields.get("automation") or fields["process"]
    return f"{who} finished with status {fields['status']}{model}"


def slack_blocks(text: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """A section with the message and a fields grid: readable on desktop and phone."""
    emoji = STATUS_EMOJI.get(str(fields.get("status", "")).lower(), ":information_source:")
    shown = [("Status", fields.get("status")), ("Model", fields.get("model_id")),
             ("Process", fields.get("process")),
             ("Automation", fields.get("automation")), ("Build", fields.get("build_id")),
             ("Executed", fields.get("execution_date"))]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {text}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                                       for label, value in shown if value not in (None, "")]},
    ]
