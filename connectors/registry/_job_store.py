"""Job rows: creation, the redundant-execution guard, leases, cancel requests and the outcome.

Cancelling is a request written to the row (state ``cancelling``): whichever node runs the job
watches its row, stops its model processes or Dask tasks, and records ``cancelled``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import Database, utcnow
from engine.errors import ConflictError, MlcError, ValidationError
from engine.ids import row_by_id

from ._records import JOB_TYPES, JobRecord
from ._tables import JobRow

LEASE_SECONDS = 120.0
LOG_TAIL_CHARS = 8000
LIVE_STATES = ("queued", "running", "cancelling")


def job_record(row: JobRow) -> JobRecord:
    return JobRecord(id=row.id, job_type=row.job_type, state=row.state,
                     snapshot_id=row.snapshot_id, model_id=row.model_id,
                     inputs=dict(row.inputs or {}), outputs=dict(row.outputs or {}),
                     metrics=dict(row.metrics or {}), reason=row.reason,
                     log_tail=row.log_tail or "", created_at=row.created_at,
                     started_at=row.started_at, finished_at=row.finished_at)


def execution_key(job_type: str, snapshot_id: str, build: str, source: str,
                  destination: str) -> str:
    """The identity of an execution: two running jobs with the same key are redundant."""
    raw = json.dumps([job_type, snapshot_id, build, source, destination])
    return hashlib.sha256(raw.encode()).hexdigest()


class RedundantExecutionError(ConflictError):
    """An identical execution (model, build, source, destination) is already running."""

    code = "redundant_execution"


class JobCancelled(MlcError):
    """The job was cancelled on request before or while it ran."""

    code = "job_cancelled"


class JobStore:
    """Persists jobs; the unique ``active_key`` makes the redundancy guard hold across processes."""

    def __init__(self, db: Database, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.lease_seconds = lease_seconds

    def create(self, job_type: str, *, snapshot_id: str | None, model_id: str | None,
               inputs: dict[str, Any], idempotency_key: str | None = None) -> JobRecord:
        if job_type not in JOB_TYPES:
            raise ValidationError(f"job type must be one of {', '.join(JOB_TYPES)}")
        with self.db.write_session() as s:
            row = JobRow(job_type=job_type, snapshot_id=snapshot_id, model_id=model_id,
                         state="queued", inputs=inputs, idempotency_key=idempotency_key)
            s.add(row)
            s.flush()
            return job_record(row)

    def by_idempotency_key(self, key: str) -> JobRecord | None:
        with self.db.session() as s:
            row = s.scalar(select(JobRow).where(JobRow.idempotency_key == key))
            return job_record(row) if row is not None else None

    def holder_is_alive(self, job_id: str) -> bool:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            return bool(row and row.state in LIVE_STATES and row.lease_expires_at
                        and row.lease_expires_at > utcnow())

    def release_idempotency_key(self, job_id: str) -> None:
        """Free a dead attempt's key so a retry of the same task can run again."""
        with self.db.write_session() as s:
            row = s.get(JobRow, job_id)
            if row is not None and row.idempotency_key:
                row.idempotency_key = f"{row.idempotency_key}#superseded:{row.id}"[:200]
                if row.state in LIVE_STATES:
                    row.state, row.reason, row.active_key = "failed", "abandoned", None
                    row.finished_at = utcnow()

    def start(self, job_id: str, active_key: str | None) -> JobRecord:
        """Mark the job running and take the execution key, or refuse it as redundant.

        A holder whose lease lapsed (its worker died) is marked failed and the key taken over.

        Raises:
            JobCancelled: a cancel was asked for before the job started.
            RedundantExecutionError: an identical execution is running.
        """
        for _ in range(3):
            now = utcnow()
            try:
                with self.db.write_session() as s:
                    row = self._row(s, job_id)
                    if row.state == "cancelling":
                        raise JobCancelled(f"job {job_id} was cancelled before it started")
                    row.state, row.started_at, row.active_key = "running", now, active_key
                    row.lease_expires_at = now + timedelta(seconds=self.lease_seconds)
                    s.flush()
                    return job_record(row)
            except IntegrityError:
                with self.db.write_session() as s:
                    holder = s.scalar(select(JobRow).where(JobRow.active_key == active_key))
                    if holder is None:
                        continue
                    if holder.lease_expires_at and holder.lease_expires_at <= now:
                        holder.state, holder.active_key = "failed", None
                        holder.reason, holder.finished_at = "abandoned: lease expired", now
                        continue
                    raise RedundantExecutionError(
                        f"redundant execution: job {holder.id} is already running the same "
                        f"model, build, source and destination") from None
        raise ConflictError("could not take the execution key; retry")

    def renew_lease(self, job_id: str) -> None:
        with self.db.write_session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id,
                                           JobRow.state.in_(("running", "cancelling")))
                      .values(lease_expires_at=utcnow() + timedelta(seconds=self.lease_seconds)))

    def request_cancel(self, job_id: str) -> JobRecord:
        """Ask the node running a job to stop it; a no-op for a job already cancelling.

        A job whose lease has lapsed has no node left to see the request (it was killed), so
        it is recorded ``cancelled`` at once and its execution key released.

        Raises:
            NotFoundError: no such job.
            ConflictError: the job has already finished.
        """
        with self.db.write_session() as s:
            row = self._row(s, job_id)
            if row.state not in LIVE_STATES:
                raise ConflictError(f"job {job_id} has already {row.state}; nothing to cancel")
            now = utcnow()
            if row.lease_expires_at is not None and row.lease_expires_at <= now:
                row.state, row.active_key, row.finished_at = "cancelled", None, now
                row.reason = "cancelled on request (its node had stopped renewing its lease)"
            else:
                row.state = "cancelling"
            s.flush()
            return job_record(row)

    def cancel_requested(self, job_id: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(JobRow.state).where(JobRow.id == job_id)) == "cancelling"

    def update_outputs(self, job_id: str, outputs: dict[str, Any]) -> None:
        with self.db.write_session() as s:
            self._row(s, job_id).outputs = outputs

    def finish(self, job_id: str, *, succeeded: bool, outputs: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None, reason: str | None = None,
               log_tail: str = "", cancelled: bool = False) -> JobRecord:
        """Record the outcome (``cancelled`` when it stopped on request) and release the
        execution key."""
        with self.db.write_session() as s:
            row = self._row(s, job_id)
            row.state = "succeeded" if succeeded else "cancelled" if cancelled else "failed"
            if outputs is not None:
                row.outputs = outputs
            if metrics is not None:
                row.metrics = metrics
            row.reason = reason
            row.log_tail = log_tail[-LOG_TAIL_CHARS:]
            row.active_key, row.lease_expires_at, row.finished_at = None, None, utcnow()
            s.flush()
            return job_record(row)

    def get(self, job_id: str) -> JobRecord:
        with self.db.session() as s:
            return job_record(self._row(s, job_id))

    def list(self, *, job_type: str | None = None, snapshot_id: str | None = None,
             state: str | None = None, limit: int = 100) -> list[JobRecord]:
        """Jobs, newest first."""
        query = select(JobRow)
        if job_type:
            query = query.where(JobRow.job_type == job_type)
        if snapshot_id:
            query = query.where(JobRow.snapshot_id == snapshot_id)
        if state:
            query = query.where(JobRow.state == state)
        with self.db.session() as s:
            rows = s.scalars(query.order_by(JobRow.created_at.desc()).limit(limit)).all()
            return [job_record(r) for r in rows]

    @staticmethod
    def _row(s: Session, job_id: str) -> JobRow:
        return row_by_id(s, JobRow, JobRow.id, job_id, "job")


class LeaseKeeper:
    """Renews a running job's lease from a background thread until closed."""

    def __init__(self, store: JobStore, job_id: str, every: float | None = None) -> None:
        self._store, self._job_id = store, job_id
        self._every = every or store.lease_seconds / 4
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id[:8]}",
                                        daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._store.renew_lease(self._job_id)
            except Exception:  # noqa: BLE001 - a missed renewal is retried next tick
                pass
