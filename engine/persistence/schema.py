"""Tables of the engine: deployments, versioned definitions, instances, the event-subscription
index, external tasks, incidents and the append-only history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..states import IncidentStatus, WorkState


class Deployment(Base):
    __tablename__ = "mlc_deployments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(Base):
    """One deployed file, byte for byte (diagram interchange included)."""

    __tablename__ = "mlc_resources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("mlc_deployments.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)


class ProcessDefinition(Base):
    __tablename__ = "mlc_process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # key:version:uuid
    key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("mlc_deployments.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("mlc_resources.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # starts, called elements
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecisionDefinition(Base):
    __tablename__ = "mlc_decision_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("mlc_deployments.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("mlc_resources.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    __tablename__ = "mlc_process_instances"
    __table_args__ = (Index("ix_mlc_instances_status_key", "status", "definition_key"),
                      Index("ix_mlc_instances_created_at", "created_at"),
                      Index("ix_mlc_instances_status_ended", "status", "ended_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("mlc_process_definitions.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16))  # engine.states.InstanceStatus
    state: Mapped[str] = mapped_column(Text)  # serialized workflow, without its spec
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active_activities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class InstanceVariable(Base):
    """Scalar top-level variables of live instances, indexed for message correlation."""

    __tablename__ = "mlc_instance_variables"
    # value first: see alembic 0011 (a name-first index drew updates away from the key)
    __table_args__ = (Index("ix_mlc_instance_variables_value", "value", "name"),)

    instance_id: Mapped[str] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(512))


class EventSubscription(Base):
    """Who waits for what: the index that makes signals, messages and timers targeted.

    kind: ``signal`` / ``message`` / ``timer`` (an instance waits), or ``signal-start`` /
    ``message-start`` / ``timer-start`` (a definition starts a new instance).
    """

    __tablename__ = "mlc_event_subscriptions"
    __table_args__ = (
        Index("ix_mlc_subscriptions_kind_name", "kind", "name"),
        Index("ix_mlc_subscriptions_kind_due", "kind", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    instance_id: Mapped[str | None] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str | None] = mapped_column(ForeignKey("mlc_process_definitions.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))  # t<token> / s<scope>
    activity_id: Mapped[str | None] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExternalTaskRow(Base):
    """A service task waiting for, or held by, a worker."""

    __tablename__ = "mlc_external_tasks"
    __table_args__ = (Index("ix_mlc_external_tasks_fetch", "topic", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str] = mapped_column(String(36))  # the token (activity instance) it waits on
    topic: Mapped[str] = mapped_column(String(255))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=WorkState.AVAILABLE)
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_cycle: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    pending_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    __tablename__ = "mlc_incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), index=True)
    external_task_id: Mapped[str | None] = mapped_column(String(36))
    job_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))  # the token it stopped
    activity_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # failedExternalTask | unhandledBpmnError | ...
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HistoryEvent(Base):
    """Append-only audit trail: never updated, never deleted with its instance."""

    __tablename__ = "mlc_history"
    __table_args__ = (Index("ix_mlc_history_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserTask(Base):
    """A user task waiting for a person: what Camunda's task API lists."""

    __tablename__ = "mlc_user_tasks"
    __table_args__ = (Index("ix_mlc_user_tasks_assignee", "assignee"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str] = mapped_column(String(100))
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str] = mapped_column(String(36))  # the token it waits on
    name: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    candidate_users: Mapped[list[Any]] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_date: Mapped[str | None] = mapped_column(String(64))
    follow_up_date: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(255))
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """An asynchronous continuation (``camunda:asyncBefore`` / ``asyncAfter``) a worker runs."""

    __tablename__ = "mlc_jobs"
    __table_args__ = (Index("ix_mlc_jobs_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("mlc_process_instances.id", ondelete="CASCADE"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str] = mapped_column(String(36))  # the token it continues
    kind: Mapped[str] = mapped_column(String(16))  # async-before | async-after
    state: Mapped[str] = mapped_column(String(16), default=WorkState.AVAILABLE)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_cycle: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """The first answer to a request carrying an ``Idempotency-Key``, kept for 24 hours."""

    __tablename__ = "mlc_idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Node(Base):
    """A live ``mlc serve`` / ``mlc worker`` process: its heartbeat, and what it runs."""

    __tablename__ = "mlc_nodes"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:suffix
    kind: Mapped[str] = mapped_column(String(16))  # serve | worker
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
