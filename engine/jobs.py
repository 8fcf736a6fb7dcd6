"""Asynchronous continuations: the jobs that ``camunda:asyncBefore`` / ``asyncAfter`` leave.

A token parked before (or after) an activity is a job row; a worker claims due jobs and runs
each in its own transaction, so what follows the continuation commits separately from what
came before it, as in Camunda. A failing job is retried by ``camunda:failedJobRetryTimeCycle``
(default three attempts) and then becomes an incident that ``retry`` resumes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from . import clock, statements
from .external_tasks import parse_retry_cycle
from .facade import Engine, ExecutionError, execution_errors
from .states import WorkState
from .unit_of_work import UnitOfWork

log = logging.getLogger("mlc.jobs")
JOBS = statements.JOBS
LOCK_SECONDS = 300.0


class JobExecutor:
    """Claims and runs due jobs of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writer = engine.writer

    def run_due(self, worker_id: str, limit: int = 10) -> int:
        """Run up to ``limit`` due jobs; return how many ran (successfully or not)."""
        with self.engine.db.session() as s:
            if s.execute(select(JOBS.c.id).where(statements.fetchable(JOBS, clock.now())).limit(1)).first() is None:
                return 0
        claimed = self.writer.run(lambda uow: self._claim(uow, worker_id, limit))
        for job in claimed:
            self.execute(job, worker_id)
        return len(claimed)

    def _claim(self, uow: UnitOfWork, worker_id: str, limit: int) -> list[dict[str, Any]]:
        now = clock.now()
        pick = (select(JOBS.c.id).where(statements.fetchable(JOBS, now))
                .order_by(JOBS.c.next_attempt_at, JOBS.c.created_at).limit(limit))
        if uow.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        rows = uow.conn.execute(
            update(JOBS).where(JOBS.c.id.in_(pick.scalar_subquery()))
            .values(state=WorkState.LOCKED, lock_owner=worker_id,
                    lock_expires_at=now + timedelta(seconds=LOCK_SECONDS),
                    attempts=JOBS.c.attempts + 1)
            .returning(*JOBS.c)).mappings().all()
        return [dict(r) for r in rows]

    def execute(self, job: dict[str, Any], worker_id: str) -> None:
        try:
            self.writer.run(lambda uow: self._run(uow, job, worker_id))
        except ExecutionError as exc:
            message = exc.message
            self.writer.run(lambda uow: self._failed(uow, job, worker_id, message))
        except Exception as exc:  # e.g. the database went away: the lock will expire
            log.warning("job %s could not run: %s", job["id"], exc)

    def _run(self, uow: UnitOfWork, job: dict[str, Any], worker_id: str) -> None:
        row = uow.conn.execute(select(JOBS).where(JOBS.c.id == job["id"])).mappings().first()
        if row is None or row["lock_owner"] != worker_id:
            return  # done or taken over meanwhile
        handle = uow.instance(row["instance_id"])
        runner = uow.runner(handle)
        with execution_errors(handle.id):
            runner.run_job(int(row["task_id"]))
        if row["retries"] is not None:
            uow.resolve_incidents(handle, job_id=row["id"], reason="job succeeded")
        self.engine.settle(uow, handle, runner)

    def _failed(self, uow: UnitOfWork, job: dict[str, Any], worker_id: str, message: str) -> None:
        row = uow.conn.execute(select(JOBS).where(JOBS.c.id == job["id"])).mappings().first()
        if row is None:
            return
        attempts, interval = parse_retry_cycle(row["retry_cycle"])
        left = row["retries"] - 1 if row["retries"] is not None else attempts - row["attempts"]
        left = max(left, 0)
        handle = uow.instance(row["instance_id"])
        handle.record("job.failed", row["activity_id"], row["kind"], error=message,
                      attempt=row["attempts"], retries_left=left)
        values: dict[str, Any] = {"retries": left, "last_error": message[:4000],
                                  "lock_owner": None, "lock_expires_at": None}
        if left > 0:
            values.update(state=WorkState.AVAILABLE, next_attempt_at=clock.now() + interval)
            uow.conn.execute(update(JOBS).where(JOBS.c.id == row["id"]).values(values))
        else:
            values.update(state=WorkState.INCIDENT)
            uow.conn.execute(update(JOBS).where(JOBS.c.id == row["id"]).values(values))
            uow.open_incident(handle, "failedJob", message, activity_id=row["activity_id"],
                              job_id=row["id"], task_id=row["task_id"])
