"""The hot path's SQL, built once.

Building a SQLAlchemy Core statement (clauses, coercions, cache key) cost more CPU per command
than running it; these are constructed at import with bind parameters, so each execution only
binds values and reuses the compiled form.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from .db import table_of
from .persistence import (
    EventSubscription,
    ExternalTaskRow,
    HistoryEvent,
    Incident,
    InstanceVariable,
    Job,
    ProcessInstance,
    UserTask,
)
from .states import IncidentStatus, WorkState

INSTANCES = table_of(ProcessInstance)
HISTORY = table_of(HistoryEvent)
INCIDENTS = table_of(Incident)
SUBS = table_of(EventSubscription)
EXTERNAL = table_of(ExternalTaskRow)
USER = table_of(UserTask)
JOBS = table_of(Job)
INDEX = table_of(InstanceVariable)

# instances
INSTANCE_BY_ID = select(INSTANCES).where(INSTANCES.c.id == bindparam("id"))
INSTANCE_VERSION = select(INSTANCES.c.version).where(INSTANCES.c.id == bindparam("id"))
INSERT_INSTANCE = insert(INSTANCES)
_WRITTEN = ("status", "state", "variables", "active_activities", "error", "updated_at",
            "ended_at", "business_key")
UPDATE_INSTANCE = (update(INSTANCES)
                   .where(INSTANCES.c.id == bindparam("b_id"),
                          INSTANCES.c.version == bindparam("b_version"))
                   .values(version=bindparam("v_version"),
                           **{name: bindparam(f"v_{name}") for name in _WRITTEN}))

# Execution option of a read of what no command writes (definitions, resources): it need not
# wait for a batch's collected writes (see engine.unit_of_work).
STATIC = "mlc_static"


def instance_update_params(instance_id: str, version: int,
                           values: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {f"v_{name}": values[name] for name in _WRITTEN}
    params.update(b_id=instance_id, b_version=version, v_version=version + 1)
    return params


INSERT_HISTORY = insert(HISTORY)
INSERT_INCIDENTS = insert(INCIDENTS)

# derived rows
INSERT = {table.name: insert(table) for table in (SUBS, EXTERNAL, USER, JOBS)}
DELETE_BY_IDS = {table.name: delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
                 for table in (SUBS, EXTERNAL, USER, JOBS)}
UPDATE_EXTERNAL_DERIVED = (update(EXTERNAL).where(EXTERNAL.c.id == bindparam("b_id"))
                           .values(variables=bindparam("v_variables"),
                                   task_id=bindparam("v_task_id")))
UPDATE_USER_ASSIGNEE = (update(USER).where(USER.c.id == bindparam("b_id"))
                        .values(assignee=bindparam("v_assignee")))
INSERT_INDEX = insert(INDEX)
DELETE_INDEX = delete(INDEX).where(INDEX.c.instance_id == bindparam("instance_id"),
                                   INDEX.c.name.in_(bindparam("names", expanding=True)))
UPDATE_INDEX = (update(INDEX).where(INDEX.c.instance_id == bindparam("b_instance"),
                                    INDEX.c.name == bindparam("b_name"))
                .values(value=bindparam("v_value")))

# external tasks
EXTERNAL_BY_ID = select(EXTERNAL).where(EXTERNAL.c.id == bindparam("id"))


def fetchable(table: Table, now: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
    """An external task or job a worker may claim at ``now``: available, or held by a lock
    that has run out, and its next attempt due. The one definition that fetch-and-lock, the
    job executor and the watch of claimable tasks share."""
    return and_(or_(table.c.state == WorkState.AVAILABLE,
                    and_(table.c.state == WorkState.LOCKED, table.c.lock_expires_at < now)),
                table.c.next_attempt_at <= now)


def external_due(now_param: str = "now") -> ColumnElement[bool]:
    now: BindParameter[datetime] = bindparam(now_param)
    return fetchable(EXTERNAL, now)


@cache
def any_external_due(by_topic: bool, by_business_key: bool) -> Select[tuple[str]]:
    q = select(EXTERNAL.c.id).where(external_due()).limit(1)
    if by_topic:
        q = q.where(EXTERNAL.c.topic.in_(bindparam("topics", expanding=True)))
    if by_business_key:
        q = q.where(EXTERNAL.c.business_key == bindparam("b_business_key"))
    return q


@cache
def claim_external(dialect: str, by_topic: bool, by_business_key: bool) -> Update:
    """Lock up to ``:wanted`` due tasks in one ``UPDATE ... RETURNING`` (SKIP LOCKED on
    PostgreSQL, so concurrent claimers never wait for or take each other's rows).

    Parameters of an UPDATE that are named like a column become SET values: every bind
    parameter here has a name no column has.
    """
    pick = (select(EXTERNAL.c.id).where(external_due())
            .order_by(EXTERNAL.c.priority.desc(), EXTERNAL.c.created_at, EXTERNAL.c.id)
            .limit(bindparam("wanted")))
    if by_topic:
        pick = pick.where(EXTERNAL.c.topic.in_(bindparam("topics", expanding=True)))
    if by_business_key:
        pick = pick.where(EXTERNAL.c.business_key == bindparam("b_business_key"))
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    return (update(EXTERNAL).where(EXTERNAL.c.id.in_(pick.scalar_subquery()))
            .values(state=WorkState.LOCKED, lock_owner=bindparam("owner"),
                    lock_expires_at=bindparam("expires"), attempts=EXTERNAL.c.attempts + 1)
            .returning(*EXTERNAL.c))


UPDATE_EXTERNAL = update(EXTERNAL).where(EXTERNAL.c.id == bindparam("b_id"))

# incidents
OPEN_INCIDENT_COUNT = select(func.count()).where(INCIDENTS.c.instance_id == bindparam("instance_id"),
                                                 INCIDENTS.c.status == IncidentStatus.OPEN)

# subscriptions
SUBSCRIBERS = select(SUBS.c.definition_id, SUBS.c.instance_id).where(
    SUBS.c.kind.in_(bindparam("kinds", expanding=True)), SUBS.c.name == bindparam("name"))
SIGNAL_START_DEFINITIONS = select(SUBS.c.definition_id).where(
    SUBS.c.kind == "signal-start", SUBS.c.name == bindparam("name"))
SIGNAL_WAITERS = select(SUBS.c.instance_id).where(
    SUBS.c.kind == "signal", SUBS.c.name == bindparam("name")).distinct()
SUBSCRIPTION_EXISTS = select(SUBS.c.id).where(SUBS.c.id == bindparam("id"))
