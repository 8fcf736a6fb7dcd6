"""The local notification feed: every notification, listable over REST and the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.db import Database

from ._models import NotificationRow


@dataclass(frozen=True)
class Notification:
    id: int
    channel: str
    status: str
    title: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    instance_id: str | None = None
    process_key: str | None = None
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


def _notification(row: NotificationRow) -> Notification:
    return Notification(id=row.id, channel=row.channel, status=row.status, title=row.title,
                        text=row.text, data=dict(row.data or {}), instance_id=row.instance_id,
                        process_key=row.process_key, created_at=row.created_at)


class NotificationFeed:
    """The ``notifications`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, *, channel: str, status: str, title: str, text: str = "",
            data: dict[str, Any] | None = None, instance_id: str | None = None,
            process_key: str | None = None,
            idempotency_key: str | None = None) -> tuple[Notification, bool]:
        """Append a notification; (existing, False) when this idempotency key already has one."""
        try:
            with self.db.write_session() as session:
                row = NotificationRow(channel=channel, status=status, title=title[:255],
                                      text=text, data=dict(data or {}),
                                      instance_id=instance_id, process_key=process_key,
                                      idempotency_key=idempotency_key)
                session.add(row)
                session.flush()
                return _notification(row), True
        except IntegrityError:
            existing = self.find_by_idempotency_key(idempotency_key) if idempotency_key else None
            if existing is None:
                raise
            return existing, False

    def find_by_idempotency_key(self, idempotency_key: str) -> Notification | None:
        with self.db.session() as session:
            row = session.scalars(select(NotificationRow).where(
                NotificationRow.idempotency_key == idempotency_key)).first()
            return _notification(row) if row else None

    def list(self, *, channel: str | None = None, instance_id: str | None = None,
             limit: int = 100) -> list[Notification]:
        """Newest first."""
        query = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)
        if channel:
            query = query.where(NotificationRow.channel == channel)
        if instance_id:
            query = query.where(NotificationRow.instance_id == instance_id)
        with self.db.session() as session:
            return [_notification(r) for r in session.scalars(query)]
