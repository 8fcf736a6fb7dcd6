"""The engine facade: deploy, start, signal, message, timers, terminate, variables, decisions.

Every change runs as a command through the one :class:`~engine.writer.Writer`, so a returned
result means committed. Reads go to :class:`~engine.reads.EngineReads` on their own
connections and never wait for a writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import and_, delete, insert, select, update

from . import clock, statements
from .bpmn.model import ProcessModel
from .bpmn.runner import Runner
from .db import Database, table_of
from .delivery import signal_report
from .deployments import DefinitionStore, next_cycle_due
from .errors import ConflictError, MlcError, NotFoundError, ValidationError
from .handlers import HandlerRegistry
from .notify import availability_for
from .outcome import OUTCOME_VARIABLE, outcome_of
from .persistence import IdempotencyKey
from .reads import EngineReads
from .records import (
    DeploymentResult,
    HistoryRecord,
    IncidentRecord,
    InstanceRecord,
    ProcessDefinitionRecord,
    ResourceDeploymentRecord,
    SignalResult,
    as_json,
)
from .services import EngineServices
from .states import ENDED, IncidentStatus, InstanceStatus
from .unit_of_work import InstanceHandle, UnitOfWork
from .values import check_variables, jsonable, scalar_text
from .writer import Writer

if TYPE_CHECKING:
    from .dmn import DmnDefinitions

log = logging.getLogger("mlc.engine")

SUBS = statements.SUBS
KEYS = table_of(IdempotencyKey)
INDEX = statements.INDEX
MAX_SIGNAL_DEPTH = 10
IDEMPOTENCY_TTL = timedelta(hours=24)
T = TypeVar("T")


class ExecutionError(MlcError):
    """Advancing an instance failed (bad expression at run time, engine error): rolled back."""

    code = "execution_error"
    status = 422


@contextmanager
def execution_errors(instance_id: str) -> Iterator[None]:
    """Report what went wrong while advancing an instance as an :class:`ExecutionError`."""
    try:
        yield
    except ExecutionError:
        raise
    except MlcError as exc:
        raise ExecutionError(f"instance {instance_id}: {exc.message}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ExecutionError(f"instance {instance_id}: {type(exc).__name__}") from exc
    except Exception as exc:  # an engine bug must still be a clean answer; log it whole
        log.exception("instance %s failed unexpectedly", instance_id)
        raise ExecutionError(f"instance {instance_id}: internal error "
                             f"({type(exc).__name__}: {exc})") from exc


def _load_dmn(data: bytes, filename: str) -> DmnDefinitions:
    from .dmn import load_dmn

    return load_dmn(data, filename)


def _start_condition(model: ProcessModel, start_id: str) -> Any:
    """The compiled condition of a conditional start event (deployment subscribes only start
    events that have one)."""
    event = model.nodes[start_id].event
    if event is None or event.condition is None:
        raise ExecutionError(f"start event {start_id!r} of process {model.key!r} is subscribed "
                             "as conditional but has no condition")
    return event.condition


class Engine:
    """The durable BPMN engine over one database.

    Args:
        db: the database (SQLite or PostgreSQL).
        handlers: topic handlers run by this process's workers (others wait for external
            ones), and in-process listeners for ``delegateExpression`` listeners.
        allow_scripts: accept script tasks (``MLC_ALLOW_SCRIPTS=1``); off by default.
        outcome_variable: the variable whose value summaries show as ``outcome``
            (see :mod:`engine.outcome`).
    """

    def __init__(self, db: Database, handlers: HandlerRegistry | None = None, *,
                 allow_scripts: bool = False, outcome_variable: str = OUTCOME_VARIABLE) -> None:
        self.outcome_variable = outcome_variable  # before db: its setter builds the reads
        self.db = db
        self.handlers = handlers or HandlerRegistry()
        self.allow_scripts = allow_scripts
        self.definitions = DefinitionStore(
            allow_scripts, _load_dmn, known_delegate=lambda name: self.handlers.listener(name)
            is not None)
        self.services = EngineServices(self.definitions, allow_scripts=allow_scripts,
                                       delegates=self.handlers.listener)
        self.services.availability = availability_for(db)
        self.writer = Writer(db, self.services)

    @property
    def db(self) -> Database:
        return self._db

    @db.setter
    def db(self, db: Database) -> None:
        """Reads follow the database the engine is pointed at (tests swap it)."""
        self._db = db
        self.reads = EngineReads(db, self.outcome_variable)
        if hasattr(self, "services"):
            self.services.availability = availability_for(db)

    # ------------------------------------------------------------------ deployment & queries

    def deploy(self, files: Iterable[tuple[str, bytes]], name: str = "", *, source: str | None = None,
               duplicate_filtering: bool = True, tenant_id: str | None = None) -> DeploymentResult:
        """Validate and store BPMN/DMN files; unchanged processes are filtered, changed ones get n+1."""
        with self.db.write_session() as s:
            result = self.definitions.deploy(s, list(files), name, source, duplicate_filtering,
                                             tenant_id)
        self.definitions.forget_latest()
        return result

    def list_definitions(self, key: str | None = None,
                         latest_only: bool = False) -> list[ProcessDefinitionRecord]:
        return self.reads.definitions(key, latest_only)

    def get_instance(self, instance_id: str) -> InstanceRecord:
        return self.reads.instance(instance_id)

    def list_instances(self, *, status: str | None = None, key: str | None = None,
                       business_key: str | None = None, limit: int = 100,
                       offset: int = 0, outcome: str | None = None) -> list[InstanceRecord]:
        return self.reads.instances(status=status, key=key, business_key=business_key,
                                    limit=limit, offset=offset, outcome=outcome)

    def list_deployments(self, *, name: str | None = None, deployment_id: str | None = None,
                         limit: int | None = None, offset: int = 0
                         ) -> list[ResourceDeploymentRecord]:
        return self.reads.deployments(name=name, deployment_id=deployment_id, limit=limit,
                                      offset=offset)

    def count_deployments(self) -> int:
        return self.reads.count_deployments()

    def counts(self) -> dict[str, dict[str, int]]:
        return self.reads.counts()

    def ping(self) -> None:
        self.reads.ping()

    def history(self, instance_id: str) -> list[HistoryRecord]:
        return self.reads.history(instance_id)

    def incidents(self, status: str | None = IncidentStatus.OPEN) -> list[IncidentRecord]:
        return self.reads.incidents(status)

    # ------------------------------------------------------------------ starting

    def start(self, key: str, variables: dict[str, Any] | None = None,
              business_key: str | None = None, *, definition_id: str | None = None,
              idempotency_key: str | None = None) -> InstanceRecord:
        """Start the latest version of ``key`` (or a given definition id) with variables."""
        check_variables(variables)

        def command(uow: UnitOfWork) -> InstanceRecord:
            if definition_id:
                definition = self.definitions.definition(uow.conn, definition_id)
            else:  # the cached latest, checked when the instance is stored
                definition = self.definitions.cached_latest_definition(uow.conn, key)
                uow.on_rollback(lambda: self.definitions.forget_latest(key))
            handle = self.start_instance(uow, definition, variables or {}, business_key, None,
                                         latest=definition_id is None)
            return self.describe(uow, handle)

        return self._once("start", idempotency_key, command, InstanceRecord.from_json)

    def start_instance(self, uow: UnitOfWork, definition: Mapping[Any, Any],
                       variables: dict[str, Any],
                       business_key: str | None, trigger: tuple[str, str] | None,
                       depth: int = 0, *, latest: bool = False) -> InstanceHandle:
        """Create and run an instance of ``definition`` inside ``uow`` (for commands).
        ``latest``: started as the latest version of its key, which the INSERT checks."""
        handle = uow.new_instance(definition["id"], definition["key"], business_key)
        if latest:
            handle.latest_version = definition["version"]
        handle.record("instance.started", None, definition["key"],
                      definition_id=definition["id"], business_key=business_key,
                      trigger=trigger[0] if trigger else "api", variables=variables)
        runner = uow.runner(handle)
        with execution_errors(handle.id):
            runner.start(self.services.model(definition["id"], uow.conn), trigger,
                         dict(variables))
        self.settle(uow, handle, runner, depth)
        return handle

    def settle(self, uow: UnitOfWork, handle: InstanceHandle, runner: Runner,
               depth: int = 0) -> None:
        """After a runner moved ``handle``: absorb its results, deliver the signals it threw."""
        had_incident = handle.status == InstanceStatus.INCIDENT
        uow.absorb(handle, runner)
        if handle.ended and had_incident:  # open incidents only exist while it is "incident"
            uow.resolve_incidents(handle, reason="instance ended")
        thrown, runner.thrown_signals = runner.thrown_signals, []
        for name, variables in thrown:
            if depth >= MAX_SIGNAL_DEPTH:
                raise ExecutionError(f"signal {name!r} thrown {MAX_SIGNAL_DEPTH} levels deep: "
                                     "signals keep triggering each other")
            self._broadcast(uow, name, variables, exclude=handle.id, depth=depth + 1)

    def describe(self, uow: UnitOfWork, handle: InstanceHandle) -> InstanceRecord:
        """An instance as ``get_instance`` shows it, from inside the command that ran it."""
        state = handle.state
        active = [] if handle.ended else uow.derive(handle).active
        variables = dict(state.root.vars) if state.scopes else {}
        return InstanceRecord(
            id=handle.id, definition_id=handle.definition_id, key=handle.definition_key,
            business_key=handle.business_key, status=InstanceStatus(handle.status),
            outcome=outcome_of(variables, self.outcome_variable), variables=variables,
            active_activities=active, error=handle.error, created_at=handle.created_at,
            ended_at=handle.ended_at or None, incidents=[])

    # ------------------------------------------------------------------ signals and messages

    def signal(self, name: str, variables: dict[str, Any] | None = None, *,
               idempotency_key: str | None = None) -> SignalResult:
        """Broadcast a signal: start every subscribed definition, resume every waiting instance."""
        if not name or not isinstance(name, str):
            raise ValidationError("a signal needs a name")
        check_variables(variables)
        definitions, instances = self.reads.subscribers("signal", name)
        if not definitions and not instances and idempotency_key is None:
            return signal_report(name, [], [])  # nobody listens: no write transaction
        done = self._once("signal", idempotency_key, lambda uow: self._broadcast(
            uow, name, dict(variables or {}), exclude=None, depth=0))
        return signal_report(name, done["started"], done["resumed"])

    def _broadcast(self, uow: UnitOfWork, name: str, variables: dict[str, Any], *,
                   exclude: str | None, depth: int) -> dict[str, list[str]]:
        started: list[str] = []
        definition_ids = uow.conn.execute(statements.SIGNAL_START_DEFINITIONS,
                                          {"name": name}).scalars().all()
        for definition_id in sorted(set(definition_ids)):
            definition = self.definitions.definition(uow.conn, definition_id)
            handle = self.start_instance(uow, definition, variables,
                                         variables.get("businessKey"), ("signal", name), depth)
            started.append(handle.id)
        instance_ids = uow.conn.execute(statements.SIGNAL_WAITERS, {"name": name}).scalars().all()
        resumed: list[str] = []
        for instance_id in sorted(set(instance_ids) - set(started) - {exclude}):
            waiting = uow.instance(instance_id, missing_ok=True)
            if waiting is None or waiting.ended:
                continue
            runner = uow.runner(waiting)
            with execution_errors(waiting.id):
                delivered = runner.deliver_signal(name, variables)
            if delivered:
                self.settle(uow, waiting, runner, depth)
                resumed.append(instance_id)
        return {"started": started, "resumed": resumed}

    def correlate_message(self, name: str, *, business_key: str | None = None,
                          correlation: dict[str, Any] | None = None,
                          variables: dict[str, Any] | None = None,
                          all_instances: bool = False, instance_id: str | None = None,
                          idempotency_key: str | None = None) -> list[str]:
        """Deliver a message to the instance waiting for it (by business key / variables).

        Starts a process with a matching message start event when no instance waits (not
        when ``instance_id`` names the one instance that may receive it, as Camunda's
        ``processInstanceId``). Raises NotFoundError when nothing matches, ConflictError
        when several instances match and ``all_instances`` is false.
        """
        if not name or not isinstance(name, str):
            raise ValidationError("a message needs a name")
        check_variables(variables)
        check_variables(correlation, "correlation")
        for var, value in (correlation or {}).items():
            if scalar_text(value) is None:
                raise ValidationError(
                    f"correlation value of {var!r} must be a string, number or boolean")
        definitions, instances = self.reads.subscribers("message", name)
        if not definitions and not instances and idempotency_key is None:
            raise self._no_receiver(name, business_key, correlation)

        def command(uow: UnitOfWork) -> list[str]:
            return self._correlate(uow, name, business_key, correlation or {},
                                   dict(variables or {}), all_instances, instance_id)

        return self._once("message", idempotency_key, command)

    def _correlate(self, uow: UnitOfWork, name: str, business_key: str | None,
                   correlation: dict[str, Any], variables: dict[str, Any],
                   all_instances: bool, only: str | None = None) -> list[str]:
        q = select(SUBS.c.instance_id).where(SUBS.c.kind == "message", SUBS.c.name == name)
        if business_key is not None:
            q = q.where(SUBS.c.business_key == business_key)
        if only is not None:
            q = q.where(SUBS.c.instance_id == only)
        for i, (var, value) in enumerate(sorted(correlation.items())):
            alias = INDEX.alias(f"v{i}")
            q = q.join(alias, and_(alias.c.instance_id == SUBS.c.instance_id,
                                   alias.c.name == var, alias.c.value == scalar_text(value)))
        instance_ids = sorted(set(uow.conn.execute(q.distinct()).scalars().all()))
        if len(instance_ids) > 1 and not all_instances:
            raise ConflictError(f"message {name!r} matches {len(instance_ids)} waiting "
                                "instances; narrow the correlation or correlate all")
        delivered: list[str] = []
        for instance_id in instance_ids:
            handle = uow.instance(instance_id, missing_ok=True)
            if handle is None or handle.ended:
                continue
            runner = uow.runner(handle)
            with execution_errors(handle.id):
                ok = runner.deliver_message(name, variables)
            if ok:
                self.settle(uow, handle, runner)
                delivered.append(instance_id)
        if delivered:
            return delivered
        definition_ids = [] if only is not None else uow.conn.execute(
            select(SUBS.c.definition_id).where(SUBS.c.kind == "message-start",
                                               SUBS.c.name == name)).scalars().all()
        for definition_id in sorted(set(definition_ids))[:None if all_instances else 1]:
            definition = self.definitions.definition(uow.conn, definition_id)
            handle = self.start_instance(uow, definition, {**correlation, **variables},
                                         business_key, ("message", name))
            delivered.append(handle.id)
        if not delivered:
            raise self._no_receiver(name, business_key, correlation)
        return delivered

    @staticmethod
    def _no_receiver(name: str, business_key: str | None,
                     correlation: dict[str, Any] | None) -> NotFoundError:
        return NotFoundError(f"no waiting instance for message {name!r}"
                             + (f" with business key {business_key!r}" if business_key else "")
                             + (f" and correlation {correlation}" if correlation else ""))

    def evaluate_conditions(self, variables: dict[str, Any] | None = None,
                            business_key: str | None = None) -> list[str]:
        """Start every process whose conditional start event holds for ``variables``
        (Camunda's condition evaluation); return the started instance ids."""
        check_variables(variables)
        values = dict(variables or {})

        def command(uow: UnitOfWork) -> list[str]:
            started: list[str] = []
            rows = uow.conn.execute(select(SUBS.c.definition_id, SUBS.c.name).where(
                SUBS.c.kind == "condition-start")).all()
            for definition_id, start_id in sorted(set(rows)):
                condition = _start_condition(self.services.model(definition_id, uow.conn),
                                             start_id)
                from .bpmn.context import ExecutionContext

                try:
                    holds = condition.evaluate_condition({**values, "execution": ExecutionContext(
                        {"activityId": start_id}, None, None)})
                except MlcError:
                    holds = False  # a condition naming a variable not given does not hold
                if holds:
                    definition = self.definitions.definition(uow.conn, definition_id)
                    handle = self.start_instance(uow, definition, values, business_key,
                                                 ("conditional", start_id))
                    started.append(handle.id)
            return started

        return self.writer.run(command)

    # ------------------------------------------------------------------ timers

    def fire_due_timers(self, limit: int = 100) -> int:
        """Fire every timer due now (exactly once each); return how many fired."""
        now = clock.now()
        with self.db.session() as s:
            due = s.execute(select(SUBS.c.id, SUBS.c.kind, SUBS.c.instance_id, SUBS.c.task_id,
                                   SUBS.c.activity_id)
                            .where(SUBS.c.kind.in_(("timer", "timer-start")), SUBS.c.due_at <= now)
                            .order_by(SUBS.c.due_at).limit(limit)).all()
        fired = 0
        for sub_id, kind, instance_id, ref, activity_id in due:
            if kind == "timer":
                ok = self.writer.run(partial(self._fire_timer, sub_id=sub_id,
                                             instance_id=instance_id, ref=ref,
                                             activity_id=activity_id))
            else:
                ok = self.writer.run(partial(self._fire_timer_start, sub_id=sub_id))
            fired += bool(ok)
        return fired

    def _fire_timer(self, uow: UnitOfWork, sub_id: str, instance_id: str, ref: str,
                    activity_id: str) -> bool:
        if uow.conn.execute(statements.SUBSCRIPTION_EXISTS, {"id": sub_id}).first() is None:
            return False  # fired by someone else meanwhile
        handle = uow.instance(instance_id, missing_ok=True)
        if handle is None or handle.ended:
            return False
        runner = uow.runner(handle)
        with execution_errors(handle.id):
            fired = runner.fire_timer(ref, activity_id)
        if fired:
            self.settle(uow, handle, runner)
        return fired

    def _fire_timer_start(self, uow: UnitOfWork, sub_id: str) -> bool:
        q = select(SUBS).where(SUBS.c.id == sub_id)
        if uow.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        sub = uow.conn.execute(q).mappings().first()
        if sub is None or sub["due_at"] > clock.now():
            return False
        definition = self.definitions.definition(uow.conn, sub["definition_id"])
        nxt, config = next_cycle_due(sub["config"], sub["due_at"])
        if nxt is None:
            uow.conn.execute(delete(SUBS).where(SUBS.c.id == sub_id))
        else:
            uow.conn.execute(update(SUBS).where(SUBS.c.id == sub_id)
                             .values(due_at=nxt, config=config))
        self.start_instance(uow, definition, {}, None, ("timer", sub["activity_id"]))
        return True

    # ------------------------------------------------------------------ operator actions

    def terminate(self, instance_id: str, reason: str = "") -> InstanceRecord:
        def command(uow: UnitOfWork) -> InstanceRecord:
            handle = uow.instance(instance_id)
            if handle.ended:
                raise ConflictError(f"instance {instance_id} has already ended ({handle.status})")
            if handle.status == InstanceStatus.INCIDENT:
                uow.resolve_incidents(handle, reason="instance terminated")
            runner = uow.runner(handle)
            runner.terminate(reason)
            handle.status = InstanceStatus.TERMINATED
            handle.ended_at = clock.now()
            handle.record("instance.terminated", None, None, reason=reason)
            self.settle(uow, handle, runner)
            return self.describe(uow, handle)

        return self.writer.run(command)

    def set_variables(self, instance_id: str, variables: dict[str, Any], *,
                      reason: str = "") -> InstanceRecord:
        """Set process variables of a running instance (an operator action, audited)."""
        check_variables(variables)
        if not variables:
            raise ValidationError("no variables to set")

        def command(uow: UnitOfWork) -> None:
            handle = uow.instance(instance_id)
            if handle.ended:
                raise ConflictError(f"instance {instance_id} has ended ({handle.status}); its "
                                    "variables can no longer change")
            handle.record("operator.set_variables", None, None, names=sorted(variables),
                          reason=reason)
            runner = uow.runner(handle)
            with execution_errors(handle.id):
                runner.set_instance_variables(dict(variables))
            self.settle(uow, handle, runner)

        self.writer.run(command)
        return self.get_instance(instance_id)

    # ------------------------------------------------------------------ decisions

    def evaluate_decision(self, key: str, variables: dict[str, Any],
                          version: int | None = None) -> Any:
        """Evaluate a deployed decision (the ``decision.evaluate`` topic uses this)."""
        with self.db.session() as s:
            model = self.definitions.decision_model(s, key, version)
        return model.evaluate(key, variables)

    # ------------------------------------------------------------------ upgrades

    def convert_stored_instances(self, batch: int = 100) -> int:
        """Rewrite running instances stored by the SpiffWorkflow-based engine in the current
        state format, with their rows re-pointed; return how many were converted.

        Loading converts them anyway; doing it once at upgrade also subscribes what the old
        engine never indexed (event sub-process starts), so signals find them at once.
        """
        from .bpmn.state import is_current_format
        instances = statements.INSTANCES
        converted = 0
        while True:
            with self.db.session() as s:
                rows = s.execute(select(instances.c.id, instances.c.state).where(
                    instances.c.status.notin_(ENDED))).all()
            pending = [r.id for r in rows if not is_current_format(r.state or "")][:batch]
            if not pending:
                return converted

            def command(uow: UnitOfWork, ids: list[str] = pending) -> None:
                for instance_id in ids:
                    handle = uow.instance(instance_id, missing_ok=True)
                    if handle is not None:
                        handle.record("instance.converted", None, None,
                                      reason="stored by an older engine")

            self.writer.run(command)
            converted += len(pending)

    # ------------------------------------------------------------------ idempotency

    def _once(self, operation: str, key: str | None, command: Callable[[UnitOfWork], T],
              revive: Callable[[Any], T] = lambda stored: stored) -> T:
        """Run ``command``; with an idempotency key, a repeat within 24 h returns the first
        answer (stored as JSON, made a value again by ``revive``) and does nothing."""
        if key is None:
            return self.writer.run(command)
        if not isinstance(key, str) or not 0 < len(key) <= 255:
            raise ValidationError("an Idempotency-Key must be 1 to 255 characters")

        def once(uow: UnitOfWork) -> T:
            found = uow.conn.execute(select(KEYS.c.operation, KEYS.c.response, KEYS.c.created_at)
                                     .where(KEYS.c.key == key)).first()
            if found is not None and found.created_at > clock.now() - IDEMPOTENCY_TTL:
                if found.operation != operation:
                    raise ConflictError(f"Idempotency-Key {key!r} was used for a {found.operation}, "
                                        f"not a {operation}")
                return revive(found.response["result"])
            if found is not None:
                uow.conn.execute(delete(KEYS).where(KEYS.c.key == key))
            result = command(uow)
            uow.conn.execute(insert(KEYS).values(key=key, operation=operation,
                                                 response={"result": jsonable(as_json(result))},
                                                 created_at=clock.now()))
            return result

        return self.writer.run(once)

    def forget_idempotency_keys(self) -> int:
        """Drop answers older than 24 hours (the timer scheduler calls this now and then)."""
        def command(uow: UnitOfWork) -> int:
            return uow.conn.execute(delete(KEYS).where(
                KEYS.c.created_at < clock.now() - IDEMPOTENCY_TTL)).rowcount

        return self.writer.run(command)
