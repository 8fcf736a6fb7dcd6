"""The automation tables (migration ``0004_automations`` creates the same; a test compares).

- ``automations``: one row per registered automation; ``spec`` is the declaration's JSON
  (webhook URLs included, so it is never returned as is), ``digest`` tells an update from
  a re-registration of the same file, ``armed`` / ``checked_at`` / ``last_value`` are the
  metric trigger's state (a conditional UPDATE on them makes exactly one poller fire).
- ``automation_builds``: one row per build (per external task: ``idempotency_key``).
- ``automation_build_metrics``: the metrics each build logged, one row per metric, read by
  deployment conditions and by the ``analytics_build_metrics`` view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


class AutomationRow(Base):
    __tablename__ = "automations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    model_id: Mapped[str] = mapped_column(String(200), index=True)
    trigger_kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    process_key: Mapped[str] = mapped_column(String(200))
    source_file: Mapped[str | None] = mapped_column(String(1000))
    armed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_value: Mapped[float | None] = mapped_column(Float)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BuildRow(Base):
    __tablename__ = "automation_builds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    automation: Mapped[str] = mapped_column(String(100), index=True)
    model_id: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    git_commit: Mapped[str | None] = mapped_column(String(64))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deployment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BuildMetricRow(Base):
    __tablename__ = "automation_build_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    build_id: Mapped[str] = mapped_column(String(36), index=True)
    automation: Mapped[str] = mapped_column(String(100))
    model_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
