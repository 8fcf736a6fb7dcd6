"""The notification feed table (kept in agreement with ``alembic/versions/0003_tickets.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


class NotificationRow(Base):
    """One notification: shown in the local feed, and the record of a Slack/webhook delivery.

    The idempotency key makes a retried ``notify.send`` task deliver once (as far as the
    remote answer was recorded). Targets are stored redacted; headers are never stored.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    process_key: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
