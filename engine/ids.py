"""Ids as people type them: the full id, or the first few characters of it.

Tables and logs show ids cut to 8 characters (``mlc demo``, ``mlc jobs``), so every command
and route that takes an id also takes a prefix that names exactly one row. A prefix that names
several rows is refused with the candidates listed; one too short to mean anything is refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from .errors import NotFoundError, ValidationError

Row = TypeVar("Row")

MIN_PREFIX = 4
SHOWN_MATCHES = 10


class AmbiguousIdError(ValidationError):
    """A prefix that names more than one row."""

    code = "ambiguous_id"


def resolve_id(session: Any, column: InstrumentedAttribute[str], text: str, what: str) -> str:
    """The one id of ``column`` that is ``text`` or starts with it.

    Args:
        session: an open SQLAlchemy session.
        column: the id column (e.g. ``ProcessInstance.id``).
        text: a full id or a prefix of at least ``MIN_PREFIX`` characters.
        what: the kind of row, for messages ("process instance").

    Raises:
        NotFoundError: nothing matches.
        AmbiguousIdError: several ids start with ``text``.
    """
    text = (text or "").strip()
    if session.scalar(select(column).where(column == text)) is not None:
        return text
    if len(text) < MIN_PREFIX:
        raise NotFoundError(f"{what} {text!r} not found")
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = session.scalars(select(column).where(column.like(pattern, escape="\\"))
                            .order_by(column).limit(SHOWN_MATCHES + 1)).all()
    if not found:
        raise NotFoundError(f"{what} {text!r} not found")
    if len(found) > 1:
        shown = ", ".join(found[:SHOWN_MATCHES]) + (", ..." if len(found) > SHOWN_MATCHES else "")
        raise AmbiguousIdError(f"{what} id {text!r} is ambiguous: it starts {shown}; "
                               "give more characters")
    only: str = found[0]
    return only


def row_by_id(session: Session, model: type[Row], column: InstrumentedAttribute[str], text: str,
              what: str) -> Row:
    """The row of ``model`` whose id ``text`` names (:func:`resolve_id`), read in ``session``.

    Raises:
        NotFoundError: nothing matches, or the row was deleted between finding its id and
            reading it.
        AmbiguousIdError: several ids start with ``text``.
    """
    row = session.get(model, resolve_id(session, column, text, what))
    if row is None:
        raise NotFoundError(f"{what} {text!r} not found")
    return row


def resolve_with(db: Any, column: InstrumentedAttribute[str], text: str, what: str) -> str:
    """:func:`resolve_id` in a session of its own on ``db`` (an :class:`engine.db.Database`)."""
    with db.session() as s:
        return resolve_id(s, column, text, what)


def instance_id(db: Any, text: str) -> str:
    """The full id of the process instance ``text`` names."""
    from .persistence import ProcessInstance

    return resolve_with(db, ProcessInstance.id, text, "process instance")


def incident_id(db: Any, text: str) -> str:
    """The full id of the incident ``text`` names."""
    from .persistence import Incident

    return resolve_with(db, Incident.id, text, "incident")


def user_task_id(db: Any, text: str) -> str:
    """The full id of the user task ``text`` names."""
    from .persistence import UserTask

    return resolve_with(db, UserTask.id, text, "user task")


def external_task_id(db: Any, text: str) -> str:
    """The full id of the external task ``text`` names."""
    from .persistence import ExternalTaskRow

    return resolve_with(db, ExternalTaskRow.id, text, "external task")
