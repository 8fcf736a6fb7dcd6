"""Tables of the ticket connector (kept in agreement with ``alembic/versions/0003_tickets.py``).

One ``tickets`` table serves two purposes: it *is* the ticket for the local back end, and it
is the local index of tickets opened on Jira or ServiceNow (so the poller knows what is open
and a resolution is delivered to the waiting process only once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


class TicketRow(Base):
    """A ticket of the local back end, or the local index entry of a remote ticket."""

    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("system", "key", name="uq_tickets_system_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    system: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when the terminal status was delivered to the waiting process: "exactly once".
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketEventRow(Base):
    """What happened to a local ticket (created, commented, transitioned): its audit trail."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(64))
    to_status: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDeliveryRow(Base):
    """A webhook delivery already handled, so a redelivery is dropped even after a restart."""

    __tablename__ = "ticket_webhook_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id",
                                       name="uq_ticket_webhook_deliveries_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
