"""User tasks: what people are asked to do, and their answers (Camunda's task service).

A waiting user task is a row with its assignee, candidates, dates, priority and form (the
``camunda:formKey`` / ``camunda:formData`` of the model, kept for whatever front end shows
it). Claiming sets the assignee and fires ``assignment`` task listeners; completing sets the
given variables, fires ``complete`` listeners and moves the process on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from . import statements
from .errors import ConflictError, NotFoundError
from .facade import Engine, execution_errors
from .records import UserTaskRecord
from .unit_of_work import UnitOfWork
from .values import check_variables

TASKS = statements.USER


def describe_task(row: Mapping[Any, Any]) -> UserTaskRecord:
    return UserTaskRecord(
        id=row["id"], name=row["name"], instance_id=row["instance_id"],
        definition_id=row["definition_id"], process_key=row["definition_key"],
        business_key=row["business_key"], activity_id=row["activity_id"],
        assignee=row["assignee"], candidate_users=row["candidate_users"] or [],
        candidate_groups=row["candidate_groups"] or [], due_date=row["due_date"],
        follow_up_date=row["follow_up_date"], priority=row["priority"],
        form_key=row["form_key"], form=row["form"] or {}, created_at=row["created_at"])


class UserTaskService:
    """User-task operations of an :class:`~engine.facade.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self, *, assignee: str | None = None, candidate_group: str | None = None,
             instance_id: str | None = None, process_key: str | None = None,
             limit: int = 100) -> list[UserTaskRecord]:
        q = select(TASKS).order_by(TASKS.c.priority.desc(), TASKS.c.created_at, TASKS.c.id)
        if assignee is not None:
            q = q.where(TASKS.c.assignee == assignee)
        if instance_id is not None:
            q = q.where(TASKS.c.instance_id == instance_id)
        if process_key is not None:
            q = q.where(TASKS.c.definition_key == process_key)
        with self.engine.db.session() as s:
            rows = [describe_task(r) for r in s.execute(q).mappings().all()]
        if candidate_group is not None:  # JSON lists: filtered here, the same on both databases
            rows = [r for r in rows if candidate_group in r.candidate_groups]
        return rows[:limit]

    def get(self, task_id: str) -> UserTaskRecord:
        with self.engine.db.session() as s:
            row = s.execute(select(TASKS).where(TASKS.c.id == task_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no user task {task_id!r}")
        return describe_task(row)

    def claim(self, task_id: str, user: str | None) -> UserTaskRecord:
        """Set (or with None, clear) the assignee; a task someone else holds is refused."""
        def command(uow: UnitOfWork) -> UserTaskRecord:
            row = self._row(uow, task_id)
            if user is not None and row["assignee"] not in (None, user):
                raise ConflictError(f"user task {task_id} is assigned to {row['assignee']!r}")
            handle = uow.instance(row["instance_id"])
            token = handle.state.tokens.get(int(row["task_id"]))
            if token is None:
                raise ConflictError(f"user task {task_id} no longer waits")
            token.data.setdefault("task", {})["assignee"] = user
            handle.record("user_task.assigned", row["activity_id"], row["name"], assignee=user,
                          task_id=task_id)
            runner = uow.runner(handle)
            node = runner.node(token)
            with execution_errors(handle.id):
                runner.listen(node.task_listeners, "assignment", token.var_scope, node.id,
                              extra={"task": {"id": task_id, "assignee": user,
                                              "eventName": "assignment"}})
                runner.drain()
            self.engine.settle(uow, handle, runner)
            uow.conn.execute(update(TASKS).where(TASKS.c.id == task_id).values(assignee=user))
            return replace(describe_task(row), assignee=user)

        return self.engine.writer.run(command)

    def complete(self, task_id: str, variables: dict[str, Any] | None = None,
                 user: str | None = None) -> None:
        """Complete the task with ``variables``; ``user`` must be its assignee if it has one."""
        check_variables(variables)

        def command(uow: UnitOfWork) -> None:
            row = self._row(uow, task_id)
            if user is not None and row["assignee"] not in (None, user):
                raise ConflictError(f"user task {task_id} is assigned to {row['assignee']!r}")
            handle = uow.instance(row["instance_id"])
            runner = uow.runner(handle)
            with execution_errors(handle.id):
                runner.complete_task(int(row["task_id"]), variables)
            handle.record("user_task.completed", row["activity_id"], row["name"], user=user,
                          task_id=task_id, variables=variables or {})
            self.engine.settle(uow, handle, runner)

        self.engine.writer.run(command)

    @staticmethod
    def _row(uow: UnitOfWork, task_id: str) -> dict[str, Any]:
        row = uow.conn.execute(select(TASKS).where(TASKS.c.id == task_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no user task {task_id!r} (completed, cancelled or unknown)")
        return dict(row)
