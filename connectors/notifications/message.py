"""What a notification says: the standard fields and the Slack text + blocks.

Standard fields (sent to custom webhooks, shown in Slack and stored in the feed):
``execution_date`` (UTC, ISO 8601), ``model_id``, ``automation`` and ``process`` (the process
key, or the ``automation`` property / ``AUTOMATION_NAME`` variable), ``status``,
``build_id`` (``BUILD_ID`` variable, else the instance id) and ``instance_id``.
"""

from __future__ import annotations

from typing import Any

from engine.db import utcnow
from engine.handlers import TaskContext

STATUS_EMOJI = {"success": ":white_check_mark:", "error": ":x:", "failure": ":x:",
                "warning": ":warning:"}


def standard_fields(ctx: TaskContext, status: str) -> dict[str, Any]:
    automation = ctx.properties.get("automation") or ctx.get("AUTOMATION_NAME") or ctx.process_key
    return {
        "execution_date": utcnow().isoformat(),
        "model_id": ctx.get("MODEL_ID"),
        "automation": automation,
        "process": ctx.process_key,
        "status": status,
        "build_id": ctx.get("BUILD_ID") or ctx.instance_id,
        "instance_id": ctx.instance_id,
    }


def default_text(fields: dict[str, Any]) -> str:
    model = f" for model {fields['model_id']}" if fields.get("model_id") else ""
    return f"{fields['automation']} finished with status {fields['status']}{model}"


def slack_blocks(text: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """A section with the message and a fields grid: readable on desktop and phone."""
    emoji = STATUS_EMOJI.get(str(fields.get("status", "")).lower(), ":information_source:")
    shown = [("Status", fields.get("status")), ("Model", fields.get("model_id")),
             ("Automation", fields.get("automation")), ("Build", fields.get("build_id")),
             ("Executed", fields.get("execution_date"))]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {text}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                                       for label, value in shown if value not in (None, "")]},
    ]
