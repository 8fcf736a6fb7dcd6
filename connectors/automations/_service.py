"""The automation service: register, list, pause, resume, delete, run now, and read runs.

Framework-free: the CLI, the REST blueprint, the topic handlers and the metric poller all
call this. A registration stores the declaration and deploys the automation's schedule
process (see :mod:`._schedule`); the engine does the rest.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from engine import Engine, clock
from engine.db import Database
from engine.errors import NotFoundError
from engine.ids import row_by_id
from engine.records import InstanceRecord

from ._declarations import Automation, ScheduledTrigger
from ._errors import AutomationConflict, AutomationNotFound, DeclarationError
from ._schedule import process_key, schedule_bpmn
from ._tables import AutomationRow, BuildMetricRow, BuildRow

PROCESS_FILE = Path(__file__).resolve().parents[2] / "processes" / "build_and_deploy.bpmn"
STATUSES = ("active", "paused")


@dataclass(frozen=True)
class Change:
    """What a registration did: ``created``, ``updated`` or ``unchanged``."""

    name: str
    model_id: str
    action: str
    source_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model_id": self.model_id, "action": self.action,
                "source_file": self.source_file}


def digest(automation: Automation) -> str:
    return hashlib.sha256(json.dumps(automation.to_dict(), sort_keys=True,
                                     default=str).encode()).hexdigest()


def public_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The stored declaration without credentials: webhook URLs and header values hidden."""
    from connectors.notifications.redaction import redact_url

    shown: dict[str, Any] = json.loads(json.dumps(spec))
    for key in ("on_success", "on_error"):
        note = shown.get(key)
        if not note:
            continue
        for field_name in ("webhook", "url"):
            if note.get(field_name):
                note[field_name] = redact_url(note[field_name])
        if note.get("headers"):
            note["headers"] = {k: "***" for k in note["headers"]}
    return shown


class AutomationService:
    """Automations over the project's database and engine.

    Args:
        engine: the engine that runs the schedule and build-and-deploy processes.
        process_file: the shipped ``build_and_deploy.bpmn`` (deployed on first use).
    """

    def __init__(self, engine: Engine, *, process_file: Path = PROCESS_FILE) -> None:
        self.engine = engine
        self.db: Database = engine.db
        self.process_file = Path(process_file)
        self._process_ready = False

    # -- registration -------------------------------------------------------------------------

    def ensure_process(self) -> None:
        """Deploy ``build_and_deploy`` unless this exact file is deployed already."""
        if not self._process_ready:
            self.engine.deploy([(self.process_file.name, self.process_file.read_bytes())],
                               "automations: build_and_deploy")
            self._process_ready = True

    def register(self, automation: Automation, *, source_file: str | None = None) -> Change:
        """Create or update one automation (idempotent: the same declaration is unchanged)."""
        if not isinstance(automation, Automation):
            raise DeclarationError("register() needs an Automation")
        self.ensure_process()
        new_digest = digest(automation)
        with self.db.session() as s:
            row = s.scalar(select(AutomationRow).where(AutomationRow.name == automation.name))
            if row is not None and row.model_id != automation.model_id:
                raise AutomationConflict(
                    f"automation name {automation.name!r} is already used by model "
                    f"{row.model_id!r}; names are unique across all models")
            status = row.status if row is not None else "active"
            if row is not None and row.digest == new_digest:
                return Change(automation.name, automation.model_id, "unchanged", source_file)
        self._deploy_schedule(automation, status)
        now = clock.now()
        kind = "scheduled" if isinstance(automation.trigger, ScheduledTrigger) else "metric"
        with self.db.write_session() as s:
            row = s.scalar(select(AutomationRow).where(AutomationRow.name == automation.name))
            action = "updated" if row is not None else "created"
            if row is None:
                row = AutomationRow(id=str(uuid.uuid4()), name=automation.name, status="active",
                                    armed=True, created_at=now)
                s.add(row)
            elif row.trigger_kind != kind or row.spec.get("trigger") != automation.to_dict()["trigger"]:
                row.armed, row.last_value, row.checked_at = True, None, None
            row.model_id = automation.model_id
            row.trigger_kind = kind
            row.spec = automation.to_dict()
            row.digest = new_digest
            row.process_key = process_key(automation.name)
            row.source_file = source_file
            row.updated_at = now
        return Change(automation.name, automation.model_id, action, source_file)

    def _deploy_schedule(self, automation: Automation, status: str) -> None:
        cron = (automation.trigger.cron_expression
                if isinstance(automation.trigger, ScheduledTrigger) and status == "active" else None)
        self.engine.deploy([(f"{process_key(automation.name)}.bpmn",
                             schedule_bpmn(automation.name, cron))],
                           f"automation {automation.name}")

    # -- reading ------------------------------------------------------------------------------

    def automation(self, name: str) -> Automation:
        return Automation.from_dict(self._row(name).spec)

    def _row(self, name: str) -> AutomationRow:
        with self.db.session() as s:
            row = s.scalar(select(AutomationRow).where(AutomationRow.name == name))
        if row is None:
            raise AutomationNotFound(f"no automation named {name!r}")
        return row

    def describe(self, row: AutomationRow) -> dict[str, Any]:
        spec = row.spec
        trigger = spec["trigger"]
        out = {"name": row.name, "model_id": row.model_id, "status": row.status,
               "trigger_kind": row.trigger_kind, "description": spec.get("description", ""),
               "process_key": row.process_key, "source_file": row.source_file,
               "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
               "spec": public_spec(spec)}
        if row.trigger_kind == "scheduled":
            schedule = ScheduledTrigger(cron=trigger.get("cron"), interval=trigger.get("interval"))
            out["cron"] = schedule.cron_expression
            out["next_due_at"] = self._next_due(row.process_key)
        else:
            out["metric_state"] = {"armed": row.armed, "last_value": row.last_value,
                                   "checked_at": row.checked_at.isoformat() if row.checked_at else None}
        return out

    def _next_due(self, key: str) -> str | None:
        from engine.persistence import EventSubscription, ProcessDefinition

        with self.db.session() as s:
            due = s.scalar(select(EventSubscription.due_at).join(
                ProcessDefinition, ProcessDefinition.id == EventSubscription.definition_id).where(
                ProcessDefinition.key == key, EventSubscription.kind == "timer-start"))
        return due.isoformat() if due else None

    def list(self, model_id: str | None = None) -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = select(AutomationRow).order_by(AutomationRow.name)
            if model_id:
                q = q.where(AutomationRow.model_id == model_id)
            rows = s.scalars(q).all()
        return [self.describe(r) for r in rows]

    def get(self, name: str) -> dict[str, Any]:
        out = self.describe(self._row(name))
        out["runs"] = self.runs(name, limit=10)
        return out

    def runs(self, name: str, limit: int = 20) -> builtins.list[dict[str, Any]]:
        """The automation's runs (process instances), newest first, with their builds."""
        row = self._row(name)
        instances = self.engine.list_instances(key=row.process_key, limit=limit)
        with self.db.session() as s:
            builds = s.scalars(select(BuildRow).where(BuildRow.automation == name)
                               .order_by(BuildRow.started_at.desc()).limit(limit * 2)).all()
        by_instance: dict[str, BuildRow] = {}
        for b in builds:
            by_instance.setdefault(b.instance_id or "", b)
        out = []
        for inst in instances:
            variables = inst.variables or {}
            build = by_instance.get(inst.id)
            ended_at = inst.ended_at.isoformat() if inst.ended_at else None
            out.append({"instance_id": inst.id, "status": inst.status,
                        "started_at": inst.created_at.isoformat(), "ended_at": ended_at,
                        "trigger": variables.get("TRIGGER"),
                        "outcome": variables.get("AUTOMATION_OUTCOME"),
                        "build": self.describe_build(build) if build else None,
                        "incidents": inst.incidents})
        return out

    @staticmethod
    def describe_build(b: BuildRow) -> dict[str, Any]:
        return {"id": b.id, "status": b.status, "git_commit": b.git_commit,
                "snapshot_id": b.snapshot_id, "metrics": b.metrics, "deployment": b.deployment,
                "reason": b.reason, "started_at": b.started_at.isoformat(),
                "finished_at": b.finished_at.isoformat() if b.finished_at else None}

    def build(self, build_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            try:
                row = row_by_id(s, BuildRow, BuildRow.id, build_id, "build")
            except NotFoundError:
                raise AutomationNotFound(f"no build {build_id!r}") from None
        return {**self.describe_build(row), "automation": row.automation,
                "model_id": row.model_id, "instance_id": row.instance_id, "log_tail": row.log_tail}

    def build_metric(self, build_id: str, metric: str) -> float | None:
        with self.db.session() as s:
            return s.scalar(select(BuildMetricRow.value).where(
                BuildMetricRow.build_id == build_id, BuildMetricRow.name == metric))

    # -- operator actions ---------------------------------------------------------------------

    def pause(self, name: str) -> dict[str, Any]:
        return self._set_status(name, "paused")

    def resume(self, name: str) -> dict[str, Any]:
        return self._set_status(name, "active")

    def _set_status(self, name: str, status: str) -> dict[str, Any]:
        row = self._row(name)
        if row.status != status:
            self._deploy_schedule(Automation.from_dict(row.spec), status)
            with self.db.write_session() as s:
                s.execute(update(AutomationRow).where(AutomationRow.id == row.id).values(
                    status=status, updated_at=clock.now(),
                    **({"armed": True, "checked_at": None} if status == "active" else {})))
        return self.describe(self._row(name))

    def delete(self, name: str) -> dict[str, Any]:
        """Stop the automation for good (its runs and builds stay in history)."""
        row = self._row(name)
        self._deploy_schedule(Automation.from_dict(row.spec), "paused")
        with self.db.write_session() as s:
            s.delete(s.get(AutomationRow, row.id))
        return {"name": name, "deleted": True}

    def run_now(self, name: str, variables: dict[str, Any] | None = None) -> InstanceRecord:
        """Start a run at once (also for a paused automation: an operator asked for it)."""
        row = self._row(name)
        return self.engine.start(row.process_key, {"TRIGGER": "manual", **(variables or {})})

    def start_run(self, row: AutomationRow, variables: dict[str, Any]) -> InstanceRecord:
        return self.engine.start(row.process_key, variables)

    def metric_rows(self) -> builtins.list[AutomationRow]:
        with self.db.session() as s:
            return list(s.scalars(select(AutomationRow).where(
                AutomationRow.trigger_kind == "metric", AutomationRow.status == "active")).all())

