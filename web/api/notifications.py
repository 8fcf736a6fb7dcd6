"""The local notification feed: every notification processes sent (Slack, webhook, feed)."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, jsonify
from pydantic import Field

from ..context import services
from ..openapi import operation
from ..schemas import Name, Query

bp = Blueprint("notifications", __name__, url_prefix="/api")


class NotificationQuery(Query):
    channel: Literal["slack", "webhook", "feed"] | None = None
    instance_id: Name | None = None
    limit: int = Field(default=100, ge=1, le=1000)


@operation(bp, "/notifications", query=NotificationQuery)
def list_notifications(query: NotificationQuery) -> Response:
    """Notifications, newest first (never the webhook URLs or tokens they went to)."""
    found = services().notifications.list(channel=query.channel,
                                           instance_id=query.instance_id, limit=query.limit)
    return jsonify([n.to_dict() for n in found])
