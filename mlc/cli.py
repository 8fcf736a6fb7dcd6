"""The ``mlc`` command line: one-line reasons and a non-zero exit on failure, ``--json`` for
machines. Commands build their collaborators through :mod:`mlc.wiring`."""

from __future__ import annotations

import contextlib
import json
import logging
import signal as signals
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import MlcError
from engine.records import DeploymentResult, InstanceRecord

from .settings import Settings

if TYPE_CHECKING:
    from .wiring import Application


def parse_assignments(pairs: tuple[str, ...], option: str = "-v") -> dict[str, Any]:
    """``K=V`` pairs; V is JSON when it parses as JSON (numbers, true, {"a":1}), else text.

    ``option`` names the flag the pairs came from in the error message.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=option)
        name, raw = pair.split("=", 1)
        if not name:
            raise click.BadParameter(f"{pair!r} has an empty name", param_hint=option)
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json or human is None:
        click.echo(json.dumps(data, indent=2, default=_json_default))
    else:
        click.echo(human(data))


def _json_default(value: Any) -> Any:
    """Engine values as their JSON objects; timestamps in ISO 8601, as the REST API writes
    them; anything else as text."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr: exit code 2 for a command line click
    could not parse (click's own report is usage, a hint and the error on three lines), 1 for
    anything else."""
    try:
        yield
    except click.UsageError as exc:
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(exc.exit_code)
    except MlcError as exc:
        click.echo(f"error: {exc.message}", err=True)
        for problem in exc.problems:  # those the message does not already spell out
            if str(problem) not in exc.message:
                click.echo(f"  {problem}", err=True)
        sys.exit(1)
    except SQLAlchemyError as exc:
        # a bad --database URL, a server that is down, a schema that is not migrated
        cause = getattr(exc, "orig", None) or exc
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        click.echo(f"error: database: {reason}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


class CommandLine(click.Group):
    """The root group: every subcommand, connectors' groups included, fails in one line."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        with one_line_errors():  # the root's own options (mlc --bogus)
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


class LazyApplication:
    """Builds the application on first use, so ``mlc --help`` needs no database."""

    def __init__(self, settings_factory: Callable[[], Settings], migrate: bool = True) -> None:
        self._factory = settings_factory
        self._application: Application | None = None
        self._settings: Settings | None = None
        self.migrate = migrate
        self.pool_size: int | None = None  # database connections; ``mlc serve`` sets it

    def read_settings(self) -> Settings:
        """The settings alone, for commands that need no database (``mlc decide``)."""
        if self._application is not None:
            return self._application.settings
        if self._settings is None:
            self._settings = self._factory()
        return self._settings

    def get(self) -> Application:
        if self._application is None:
            from .wiring import build_application

            self._application = build_application(self.read_settings(), migrate=self.migrate,
                                                  pool_size=self.pool_size)
        return self._application

    def __getattr__(self, name: str) -> Any:  # db, engine, settings, tasks ... for connector commands
        return getattr(self.get(), name)


def current_application() -> Application:
    """The application of the running command (built on first use)."""
    root: LazyApplication = click.get_current_context().find_root().obj
    return root.get()


@click.group(cls=CommandLine)
@click.option("--database", "database_url", default=None,
              help="Database URL (default MLC_DATABASE_URL, else sqlite:///var/mlc.db).")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """MLC Engine: BPMN/DMN model-lifecycle workflows."""

    def settings() -> Settings:
        try:
            s = Settings.from_env()
        except MlcError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        if database_url:
            s.database_url = database_url
        return s

    ctx.obj = LazyApplication(settings)


# ---------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from engine.migrate import current, upgrade

    settings = click.get_current_context().find_root().obj._factory()
    url = settings.database_url
    upgrade(url)
    click.echo(f"database at revision {current(url)}")
    from mlc.wiring import build_application

    converted = build_application(settings, migrate=False).engine.convert_stored_instances()
    if converted:
        click.echo(f"{converted} running instance(s) converted to the current state format")


# ---------------------------------------------------------------------------- deployments


def _collect(paths: tuple[str, ...]) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".bpmn", ".dmn"))
            files.extend((p.name, p.read_bytes()) for p in found)
        elif path.is_file():
            files.append((path.name, path.read_bytes()))
        else:
            raise MlcError(f"{raw}: no such file or directory")
    if not files:
        raise MlcError("no .bpmn or .dmn files found in " + ", ".join(paths))
    return files


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--name", default="", help="Deployment name.")
@click.option("--json", "as_json", is_flag=True)
def deploy(paths: tuple[str, ...], name: str, as_json: bool) -> None:
    """Deploy .bpmn/.dmn files (or every such file in the given folders)."""
    files = _collect(paths)
    result = current_application().engine.deploy(files, name=name, source="mlc deploy")

    def human(r: DeploymentResult) -> str:
        lines = [f"deployment {r.id}"]
        for kind, found in (("process ", r.processes), ("decision", r.decisions)):
            for d in found:
                state = "unchanged" if d.key in r.filtered else "deployed"
                lines.append(f"  {kind} {d.key} v{d.version} ({state})")
        return "\n".join(lines)

    emit(result, as_json, human)


@main.command()
@click.option("--json", "as_json", is_flag=True)
def definitions(as_json: bool) -> None:
    """List the latest version of each deployed process and decision."""
    from engine.inspection import decision_definitions

    engine = current_application().engine
    latest_decisions = {d["key"]: d for d in decision_definitions(engine.db)}  # by version
    rows = ([{"kind": "process", **r.to_json()} for r in engine.list_definitions(latest_only=True)]
            + [{"kind": "decision", **r} for r in latest_decisions.values()])
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['kind']:9} {r['key']:40} v{r['version']:<4} {r['name'] or ''}" for r in rs)
        or "no process or decision definitions")


# ---------------------------------------------------------------------------- instances


def _instance_line(i: InstanceRecord) -> str:
    active = ",".join(i.active_activities) or "-"
    outcome = i.outcome or "-"
    return f"{i.id}  {i.key:32} {i.status:10} {outcome:16} {active}"


@main.command()
@click.argument("key")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE")
@click.option("--business-key", default=None)
@click.option("--json", "as_json", is_flag=True)
def start(key: str, variables: tuple[str, ...], business_key: str | None, as_json: bool) -> None:
    """Start the latest version of process KEY."""
    values = parse_assignments(variables)  # bad input fails before any database is opened
    instance = current_application().engine.start(key, values, business_key)
    emit(instance, as_json, _instance_line)


UNHEARD_EXIT = 3


@main.command("signal")
@click.argument("name")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE")
@click.option("--allow-unheard", is_flag=True,
              help=f"Exit 0 even when no process starts on NAME and no instance waits for it "
                   f"(otherwise exit {UNHEARD_EXIT}: usually a typo in the name).")
@click.option("--json", "as_json", is_flag=True)
def signal_cmd(name: str, variables: tuple[str, ...], allow_unheard: bool,
               as_json: bool) -> None:
    """Broadcast signal NAME: start subscribed processes, resume waiting instances."""
    from engine.delivery import UNHEARD

    values = parse_assignments(variables)
    with _logged_elsewhere("mlc.engine", UNHEARD):  # said below, in one line
        result = current_application().engine.signal(name, values)
    emit(result, as_json, lambda r: f"started {len(r.started)}, resumed {len(r.resumed)}"
         + "".join(f"\n  started {i}" for i in r.started)
         + "".join(f"\n  resumed {i}" for i in r.resumed))
    if result.unheard and not allow_unheard:
        click.echo("warning: " + UNHEARD % name + " (--allow-unheard accepts that)", err=True)
        sys.exit(UNHEARD_EXIT)


@contextlib.contextmanager
def _logged_elsewhere(logger: str, message: str) -> Iterator[None]:
    """Drop ``logger``'s records of ``message`` while the command reports it itself."""
    def drop(record: logging.LogRecord) -> bool:
        return record.msg is not message

    logging.getLogger(logger).addFilter(drop)
    try:
        yield
    finally:
        logging.getLogger(logger).removeFilter(drop)


@main.command()
@click.argument("name")
@click.option("--business-key", default=None)
@click.option("-c", "--correlate", "correlation", multiple=True, metavar="NAME=VALUE",
              help="Process variable the waiting instance must have.")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE")
@click.option("--all", "all_instances", is_flag=True, help="Deliver to every matching instance.")
@click.option("--json", "as_json", is_flag=True)
def message(name: str, business_key: str | None, correlation: tuple[str, ...],
            variables: tuple[str, ...], all_instances: bool, as_json: bool) -> None:
    """Correlate message NAME to the instance waiting for it."""
    correlate, values = parse_assignments(correlation, "-c") or None, parse_assignments(variables)
    ids = current_application().engine.correlate_message(
        name, business_key=business_key, correlation=correlate, variables=values,
        all_instances=all_instances)
    emit({"instances": ids}, as_json, lambda r: "\n".join(f"delivered to {i}" for i in r["instances"]))


@main.command()
@click.option("--status", type=click.Choice(["running", "waiting", "completed", "incident", "terminated"]))
@click.option("--outcome", default=None,
              help="The process's OUTCOME variable, e.g. failed, deployed, rejected.")
@click.option("--key", default=None)
@click.option("--business-key", default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the ids, one a line (for scripts).")
@click.option("--json", "as_json", is_flag=True)
def instances(status: str | None, outcome: str | None, key: str | None,
              business_key: str | None, limit: int, quiet: bool, as_json: bool) -> None:
    """List process instances, newest first: id, process, status, outcome, activities."""
    rows = current_application().engine.list_instances(status=status, outcome=outcome, key=key,
                                           business_key=business_key, limit=limit)
    if quiet:
        for row in rows:
            click.echo(row.id)
        return
    header = f"{'id':36}  {'process':32} {'status':10} {'outcome':16} active"
    emit(rows, as_json, lambda rs: "\n".join([header] + [_instance_line(r) for r in rs])
         if rs else "no instances")


@main.command()
@click.argument("instance_id")
@click.option("--history/--no-history", default=True)
@click.option("--json", "as_json", is_flag=True)
def show(instance_id: str, history: bool, as_json: bool) -> None:
    """Show an instance (by id or a unique prefix of it): status, outcome, variables, active
    activities, incidents, history."""
    from engine.ids import instance_id as full_id

    engine = current_application().engine
    instance_id = full_id(engine.db, instance_id)
    found = engine.get_instance(instance_id)
    data = found.to_json()
    if history:
        data["history"] = [h.to_json() for h in engine.history(instance_id)]

    def human(d: dict[str, Any]) -> str:
        lines = [_instance_line(found), f"business key: {d['business_key'] or '-'}",
                 "variables: " + json.dumps(d["variables"], default=str)]
        lines += [f"incident {i['id']}: {i['activity_id']}: {i['message']}" for i in d["incidents"]]
        for h in d.get("history", []):
            lines.append(f"  {h['at'][:23]}  {h['kind']:22} {h['activity_id'] or ''} {h['name'] or ''}")
        return "\n".join(lines)

    emit(data, as_json, human)


@main.command()
@click.argument("instance_id")
@click.option("--reason", default="terminated by operator")
@click.option("--json", "as_json", is_flag=True)
def terminate(instance_id: str, reason: str, as_json: bool) -> None:
    """Terminate a running instance (by id or a unique prefix of it)."""
    from engine.ids import instance_id as full_id

    engine = current_application().engine
    emit(engine.terminate(full_id(engine.db, instance_id), reason), as_json, _instance_line)


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents.")
@click.option("--json", "as_json", is_flag=True)
def incidents(show_all: bool, as_json: bool) -> None:
    """List open incidents."""
    rows = current_application().engine.incidents(None if show_all else "open")
    emit(rows, as_json, lambda rs: "\n".join(
        f"{i.id}  {i.status:8} {i.instance_id} {i.activity_id}: {i.message}"
        for i in rs) or "no incidents")


@main.command()
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True)
def retry(incident_id: str, as_json: bool) -> None:
    """Retry the step behind an incident (by id or a unique prefix of it)."""
    from engine.ids import incident_id as full_id

    application = current_application()
    retried = application.tasks.retry_incident(full_id(application.db, incident_id))
    emit(retried, as_json, _instance_line)


# ---------------------------------------------------------------------------- workers


def _topic_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@main.command()
@click.option("--once", is_flag=True, help="Run the due tasks and timers once, then exit.")
@click.option("--poll", default=0.5, show_default=True, help="Seconds between polls when idle.")
@click.option("--lease", "--lock", "lease", default=30.0, show_default=True,
              help="Seconds a claim lasts without a heartbeat (the node renews it every 5 s).")
@click.option("--topics", default=None, help="Only these topics (comma-separated).")
@click.option("--exclude-topics", default=None, help="Every topic but these (comma-separated).")
@click.option("--no-timers", is_flag=True, help="Leave timers to other nodes.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Handlers run at once.")
@click.option("--grace", default=30.0, show_default=True,
              help="Seconds SIGTERM gives running handlers before their tasks are released.")
def worker(once: bool, poll: float, lease: float, topics: str | None,
           exclude_topics: str | None, no_timers: bool, concurrency: int, grace: float) -> None:
    """Run the in-process topic handlers and the timer scheduler as a node, until SIGTERM."""
    from engine import TimerScheduler, Worker
    from engine.nodes import NodeRegistry

    application = current_application()
    handlers = application.handlers.subset(_topic_list(topics), _topic_list(exclude_topics))
    if once:
        w = Worker(application.engine, handlers, lock_seconds=lease)
        fired = 0 if no_timers else application.engine.fire_due_timers()
        ran = 0
        while w.run_once():
            ran += 1
        click.echo(f"ran {ran} task(s), fired {fired} timer(s)")
        return
    node = NodeRegistry(application.db, "worker", handlers.topics(), lease=lease)
    node.start()
    application.engine.services.node_id = node.id
    w = Worker(application.engine, handlers, node=node, concurrency=concurrency)
    stop = threading.Event()
    for sig in (signals.SIGINT, signals.SIGTERM):
        signals.signal(sig, lambda *_: stop.set())
    threads = []
    if not no_timers:
        timers = TimerScheduler(application.engine)
        threads.append(threading.Thread(target=timers.run, args=(stop,), daemon=True))
        threads[-1].start()
    click.echo(f"node {node.id} serving topics: {', '.join(handlers.topics()) or '-'}"
               + ("" if not no_timers else " (no timers)"))
    try:
        w.run(stop, poll)
    finally:
        released = w.drain(grace)
        for thread in threads:
            thread.join(timeout=5)
        node.stop()
        w.close()
    click.echo(f"node {node.id} stopped" + (f"; released {len(released)} running task(s)"
                                             if released else ""))


@main.command()
@click.option("--json", "as_json", is_flag=True)
def nodes(as_json: bool) -> None:
    """Live serve/worker processes sharing this database, and what each holds."""
    from engine.nodes import list_nodes

    emit(list_nodes(current_application().db), as_json, lambda rows: "\n".join(
        f"{n['id']}  {n['kind']:6} {'alive' if n['alive'] else 'silent':6} "
        f"heartbeat {n['heartbeat_at']}  holds {n['holds'].get('external_tasks', 0)} task(s), "
        f"{n['holds'].get('jobs', 0)} job(s)  topics: {', '.join(n['topics']) or '-'}"
        for n in rows) or "no live nodes")


def _mount_optional() -> None:
    """Mount command groups contributed by other packages, when they are installed."""
    import importlib

    for module, attr in (("mlc.decide", "decide"), ("mlc.serve", "serve"),
                         ("mlc.demo", "demo"), ("mlc.firstrun", "setup"),
                         ("connectors.tickets.cli", "tickets"),
                         ("connectors.notifications.cli", "notifications"),
                         ("connectors.registry.cli", "models"),
                         ("connectors.registry.cli", "snapshots"),
                         ("connectors.registry.cli", "runtimes"),
                         ("connectors.jobs.cli", "jobs"),
                         ("connectors.packages.cli", "artifacts"),
                         ("connectors.automations.cli", "automations")):
        try:
            command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        main.add_command(command)


_mount_optional()
