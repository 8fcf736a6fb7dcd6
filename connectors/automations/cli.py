"""``mlc automations ...``: register the automations declared in a folder, list, show, pause,
resume, delete, run now, and poll metric triggers once.

``register -p DIR`` imports every Python file under DIR (errors are reported per file and
the other files still register), registers what it found idempotently and prints one line
per automation: ``created``, ``updated`` or ``unchanged``. Exit code 1 when any file or
declaration failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from connectors.cli_context import context_service, echo_json
from engine.errors import MlcError

if TYPE_CHECKING:
    from ._service import AutomationService


def _service() -> AutomationService:
    from ._service import AutomationService

    return context_service(lambda s: s.automations, lambda obj: AutomationService(obj.engine))


@click.group("automations")
def automations() -> None:
    """Scheduled and metric-triggered build-and-deploy automations."""


@automations.command("register")
@click.option("-p", "--path", "path", required=True,
              type=click.Path(exists=True, path_type=Path),
              help="Folder (or file) holding the automation declarations.")
@click.option("--json", "as_json", is_flag=True)
def register(path: Path, as_json: bool) -> None:
    """Register or update every Automation declared under PATH."""
    from ._discovery import discover

    found = discover(path)
    changes, failures = [], dict(found.errors)
    service = _service()
    names: dict[str, str] = {}
    for automation, source in found.automations:
        if automation.name in names:
            failures[source] = (f"automation name {automation.name!r} is also declared in "
                                f"{names[automation.name]}")
            continue
        names[automation.name] = source
        try:
            changes.append(service.register(automation, source_file=source))
        except MlcError as exc:  # DeclarationError, AutomationConflict, ...
            failures[source] = exc.message
    if as_json:
        echo_json({"changes": [c.to_dict() for c in changes], "errors": failures,
                    "files": found.files})
    else:
        for change in changes:
            click.echo(f"{change.action:9} {change.name} (model {change.model_id}, "
                       f"{change.source_file})")
        if not changes and not failures:
            click.echo(f"no automations found in {len(found.files)} file(s)")
    for source, message in sorted(failures.items()):
        click.echo(f"error: {source}: {message}", err=True)
    if failures:
        raise SystemExit(1)


@automations.command("list")
@click.option("--model", "model_id", default=None, help="Only this model's automations.")
@click.option("--json", "as_json", is_flag=True)
def list_(model_id: str | None, as_json: bool) -> None:
    """List automations with their status and next run."""
    rows = _service().list(model_id)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no automations")
    for row in rows:
        when = (f"cron {row['cron']}, next {row.get('next_due_at') or '-'}"
                if row["trigger_kind"] == "scheduled" else "metric trigger")
        click.echo(f"{row['name']:30} {row['status']:7} model {row['model_id']}  {when}")


@automations.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def show(name: str, as_json: bool) -> None:
    """One automation, its declaration (credentials hidden) and its latest runs."""
    data = _service().get(name)
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']} ({data['status']}), model {data['model_id']}, "
               f"process {data['process_key']}")
    if data.get("cron"):
        click.echo(f"  schedule: cron {data['cron']} UTC, next run {data.get('next_due_at')}")
    else:
        click.echo(f"  metric trigger: {data.get('metric_state')}")
    for run in data["runs"]:
        build = run.get("build") or {}
        click.echo(f"  run {run['instance_id']} {run['started_at']} {run['status']} "
                   f"trigger={run['trigger']} outcome={run['outcome']} build={build.get('id')}")


def _action(verb: str, help_text: str) -> click.Command:
    @automations.command(verb, help=help_text)
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True)
    def command(name: str, as_json: bool) -> None:
        service = _service()
        result = getattr(service, verb.replace("-", "_"))(name)
        if as_json:
            echo_json(result)
        elif verb == "run-now":
            click.echo(result.id)
        else:
            click.echo(f"{name}: {result.get('status', 'deleted')}")

    return command


_action("pause", "Stop scheduling / polling the automation (runs in progress go on).")
_action("resume", "Schedule / poll the automation again.")
_action("delete", "Remove the automation (its runs stay in history).")
_action("run-now", "Start a run at once; prints the run's process instance id.")


@automations.command("poll")
@click.option("--json", "as_json", is_flag=True)
def poll(as_json: bool) -> None:
    """Evaluate the metric triggers that are due once (mlc serve does this continuously)."""
    from ._poller import MetricTriggerPoller

    poller = context_service(lambda s: s.automation_poller,
                             lambda obj: MetricTriggerPoller(_service()))
    results = poller.poll_once()
    if as_json:
        echo_json(results)
        return
    for r in results:
        click.echo(f"{r['name']}: value={r.get('value')} threshold={r.get('threshold')} "
                   f"fired={r['fired']}" + (f" run={r['instance_id']}" if r.get("instance_id") else "")
                   + (f" error={r['error']}" if r.get("error") else ""))
