"""Database access for the ``tickets`` table: local tickets and the index of remote ones.

Kept apart from the back ends so the local back end, the remote index, the resolver and the
webhook de-duplication share one careful implementation of the few writes that must be
race-free (unique idempotency key, resolve-once claim, delivery ids).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import Database, affected_rows, utcnow
from engine.errors import NotFoundError

from ._models import TicketEventRow, TicketRow, WebhookDeliveryRow
from .backend import Ticket, ticket_ref
from .errors import AmbiguousTicketError

LOCAL_KEY_PREFIX = "MLC-"


def row_to_ticket(row: TicketRow) -> Ticket:
    return Ticket(key=row.key, system=row.system, status=row.status, summary=row.summary,
                  description=row.description, kind=row.kind, fields=dict(row.fields or {}),
                  idempotency_key=row.idempotency_key, instance_id=row.instance_id,
                  url=row.url, created_at=row.created_at, updated_at=row.updated_at)


class TicketStore:
    """The ``tickets``, ``ticket_events`` and ``ticket_webhook_deliveries`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tickets -------------------------------------------------------------------------

    def insert_local(self, *, kind: str, summary: str, description: str, status: str,
                     fields: dict[str, Any], idempotency_key: str | None,
                     instance_id: str | None) -> tuple[Ticket, bool]:
        """Insert a local ticket numbered ``MLC-<n>``; return (ticket, created).

        When another worker inserted a ticket for the same idempotency key first, the unique
        constraint refuses ours and that ticket is returned with ``created=False``.
        """
        try:
            with self.db.write_session() as session:
                row = TicketRow(key=f"pending-{uuid.uuid4().hex}", system="local", kind=kind, summary=summary[:255],
                                description=description, status=status, fields=dict(fields),
                                idempotency_key=idempotency_key, instance_id=instance_id)
                session.add(row)
                session.flush()  # the id numbers the key; a placeholder keeps (system, key) unique
                row.key = f"{LOCAL_KEY_PREFIX}{row.id}"
                session.add(TicketEventRow(ticket_id=row.id, event="created", to_status=status,
                                           fields=dict(fields)))
                session.flush()
                return row_to_ticket(row), True
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = self.find_by_idempotency_key(idempotency_key)
            if existing is None:
                raise
            return existing, False

    def record_remote(self, ticket: Ticket) -> Ticket:
        """Index a ticket opened on Jira/ServiceNow (idempotent: a second call changes nothing)."""
        with self.db.write_session() as session:
            row = session.scalars(select(TicketRow).where(
                TicketRow.system == ticket.system, TicketRow.key == ticket.key)).first()
            if row is None and ticket.idempotency_key:
                row = session.scalars(select(TicketRow).where(
                    TicketRow.idempotency_key == ticket.idempotency_key)).first()
            if row is None:
                row = TicketRow(key=ticket.key, system=ticket.system, kind=ticket.kind or "",
                                summary=ticket.summary[:255], description=ticket.description,
                                status=ticket.status, fields=dict(ticket.fields),
                                idempotency_key=ticket.idempotency_key,
                                instance_id=ticket.instance_id, url=ticket.url)
                session.add(row)
                session.flush()
            return row_to_ticket(row)

    def get(self, key: str, system: str | None = None) -> Ticket:
        with self.db.session() as session:
            return row_to_ticket(self._row(session, key, system))

    def find(self, key: str, system: str | None = None) -> Ticket | None:
        try:
            return self.get(key, system)
        except NotFoundError:
            return None

    def find_by_idempotency_key(self, idempotency_key: str) -> Ticket | None:
        with self.db.session() as session:
            row = session.scalars(select(TicketRow).where(
                TicketRow.idempotency_key == idempotency_key)).first()
            return row_to_ticket(row) if row else None

    def list(self, *, system: str | None = None, statuses: Iterable[str] | None = None,
             exclude_statuses: Iterable[str] | None = None, unresolved_only: bool = False,
             kind: str | None = None, instance_id: str | None = None,
             limit: int = 500) -> list[Ticket]:
        query = select(TicketRow).order_by(TicketRow.id)
        if system:
            query = query.where(TicketRow.system == system)
        if kind:
            query = query.where(TicketRow.kind == kind)
        if instance_id:
            query = query.where(TicketRow.instance_id == instance_id)
        if statuses is not None:
            query = query.where(TicketRow.status.in_(list(statuses)))
        if exclude_statuses:
            query = query.where(TicketRow.status.not_in(list(exclude_statuses)))
        if unresolved_only:
            query = query.where(TicketRow.resolved_at.is_(None))
        with self.db.session() as session:
            return [row_to_ticket(r) for r in session.scalars(query.limit(limit))]

    def update_status(self, key: str, status: str, fields: dict[str, Any] | None = None, *,
                      system: str | None = None, event: str = "transition",
                      body: str = "") -> Ticket:
        """Set status and merge ``fields``; record the change as an event."""
        with self.db.write_session() as session:
            row = self._row(session, key, system)
            previous = row.status
            merged = dict(row.fields or {})
            merged.update(fields or {})
            row.status = status
            row.fields = merged
            row.updated_at = utcnow()
            session.add(TicketEventRow(ticket_id=row.id, event=event, body=body,
                                       from_status=previous, to_status=status,
                                       fields=dict(fields or {})))
            session.flush()
            return row_to_ticket(row)

    def add_event(self, key: str, event: str, body: str, system: str | None = None) -> None:
        with self.db.write_session() as session:
            row = self._row(session, key, system)
            session.add(TicketEventRow(ticket_id=row.id, event=event, body=body))

    def events(self, key: str, system: str | None = None) -> builtins.list[dict[str, Any]]:
        with self.db.session() as session:
            row = self._row(session, key, system)
            rows = session.scalars(select(TicketEventRow).where(
                TicketEventRow.ticket_id == row.id).order_by(TicketEventRow.id))
            return [{"event": e.event, "body": e.body, "from_status": e.from_status,
                     "to_status": e.to_status, "fields": dict(e.fields or {}),
                     "created_at": e.created_at.isoformat()} for e in rows]

    # -- resolve exactly once ------------------------------------------------------------

    def claim_resolution(self, system: str, key: str) -> bool:
        """Mark the ticket's resolution as delivered; False when someone already did.

        A conditional UPDATE is atomic on both SQLite and PostgreSQL, so of two concurrent
        webhook deliveries (or a webhook racing the poller) exactly one wins.
        """
        with self.db.write_session() as session:
            result = session.execute(update(TicketRow).where(
                TicketRow.system == system, TicketRow.key == key,
                TicketRow.resolved_at.is_(None)).values(resolved_at=utcnow()))
            return affected_rows(result) == 1

    def release_resolution(self, system: str, key: str) -> None:
        """Undo a claim whose delivery failed, so a later webhook or poll tries again."""
        with self.db.write_session() as session:
            session.execute(update(TicketRow).where(
                TicketRow.system == system, TicketRow.key == key).values(resolved_at=None))

    def resolved_at(self, system: str, key: str) -> datetime | None:
        with self.db.session() as session:
            return self._row(session, key, system).resolved_at

    # -- webhook deliveries --------------------------------------------------------------

    def delivery_seen(self, source: str, delivery_id: str) -> bool:
        with self.db.session() as session:
            return session.scalars(select(WebhookDeliveryRow.id).where(
                WebhookDeliveryRow.source == source,
                WebhookDeliveryRow.delivery_id == delivery_id)).first() is not None

    def record_delivery(self, source: str, delivery_id: str, outcome: str) -> bool:
        """Remember a handled delivery; False when it was already recorded."""
        try:
            with self.db.write_session() as session:
                session.add(WebhookDeliveryRow(source=source, delivery_id=delivery_id[:200],
                                               outcome=outcome))
            return True
        except IntegrityError:
            return False

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, key: str, system: str | None) -> TicketRow:
        """The ticket (``system``, ``key``); with no system, the only ticket with that key."""
        query = select(TicketRow).where(TicketRow.key == key)
        if system:
            query = query.where(TicketRow.system == system)
        rows = session.scalars(query.order_by(TicketRow.id).limit(4)).all()
        if not rows:
            raise NotFoundError(f"ticket {ticket_ref(system, key) if system else repr(key)} "
                                "does not exist")
        if len(rows) > 1:
            raise AmbiguousTicketError(
                f"ticket key {key!r} exists on several systems: "
                + ", ".join(f"{r.system}/{r.key}" for r in rows)
                + f"; name one, e.g. /api/tickets/{rows[0].system}/{key}")
        return rows[0]

