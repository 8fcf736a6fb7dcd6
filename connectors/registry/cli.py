"""``mlc models|snapshots|runtimes ...``: the registry from the command line.

Collaborators come from ``click.get_current_context().obj``: an object with ``db``,
``settings`` and ``engine`` (the facade; it broadcasts ``mlc.snapshot.created``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from connectors.cli_context import context_service, echo_json
from engine.errors import ValidationError

from ._records import METHODOLOGIES, RUNTIME_ENGINES, STAGES
from ._sql_registry import SqlModelRegistry


def registry_from_context() -> SqlModelRegistry:
    return context_service(lambda s: s.registry, lambda obj: SqlModelRegistry(
        obj.db, getattr(obj, "engine", None)))


def _meta(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--meta expects KEY=VALUE, not {pair!r}")
        try:
            out[name.strip()] = json.loads(value)  # numbers, booleans, lists stay typed
        except ValueError:
            out[name.strip()] = value
    return out


@click.group("models")
def models() -> None:
    """Registered models."""


@models.command("register")
@click.argument("name")
@click.option("--methodology", type=click.Choice(METHODOLOGIES), required=True)
@click.option("--description", default="")
@click.option("--owner", default="")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def register_model(name: str, methodology: str, description: str, owner: str,
                   as_json: bool) -> None:
    """Register a model."""
    model = registry_from_context().register_model(name, methodology,
                                                   description=description, owner=owner)
    echo_json(model.to_dict()) if as_json else click.echo(model.id)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_models(as_json: bool) -> None:
    """List models."""
    found = registry_from_context().list_models()
    if as_json:
        echo_json([m.to_dict() for m in found])
        return
    for m in found:
        click.echo(f"{m.id}  {m.name:<30} {m.methodology:<15} {m.owner}")


@models.command("show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_model(model: str, as_json: bool) -> None:
    """Show a model (by id or name) and its snapshots."""
    registry = registry_from_context()
    record = registry.get_model(model)
    snapshots = registry.list_snapshots(record.id)
    if as_json:
        echo_json({**record.to_dict(), "snapshots": [s.to_dict() for s in snapshots]})
        return
    click.echo(f"{record.name} ({record.methodology}) {record.id}")
    for s in snapshots:
        click.echo(f"  v{s.version:<4} {s.id}  {s.stage:<5} {','.join(s.tags)}  {s.source}")


@click.group("snapshots")
def snapshots() -> None:
    """Model snapshots (immutable versions)."""


@snapshots.command("create")
@click.argument("model")
@click.option("--source", required=True, help="Model folder, sample:NAME or git_uri#subdir.")
@click.option("--tag", "tags", multiple=True, help="e.g. train, run_test, jira (repeatable).")
@click.option("--stage", type=click.Choice(STAGES), default="DEV", show_default=True)
@click.option("--service-tag")
@click.option("--dmn", "dmn_decision_key", help="DMN decision key used to approve it.")
@click.option("--monitor", "monitors", multiple=True)
@click.option("--expiration", help="ISO date.")
@click.option("--meta", multiple=True, help="KEY=VALUE (JSON values allowed; repeatable).")
@click.option("--test-data", help="URI of labelled test data.")
@click.option("--training-data", help="URI of training data.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def create_snapshot(model: str, source: str, tags: tuple[str, ...], stage: str,
                    service_tag: str | None, dmn_decision_key: str | None,
                    monitors: tuple[str, ...], expiration: str | None, meta: tuple[str, ...],
                    test_data: str | None, training_data: str | None,
                    as_json: bool) -> None:
    """Create a snapshot of MODEL (broadcasts mlc.snapshot.created)."""
    expires = None
    if expiration:
        try:
            expires = datetime.fromisoformat(expiration)
        except ValueError:
            raise ValidationError(f"--expiration {expiration!r} is not an ISO date") from None
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    assets = [{"role": role, "uri": uri} for role, uri in
              (("TEST_DATA", test_data), ("TRAINING_DATA", training_data)) if uri]
    registry = registry_from_context()
    snapshot = registry.create_snapshot(
        registry.get_model(model).id, source, tags=tags, stage=stage,
        service_tag=service_tag, metadata=_meta(meta), dmn_decision_key=dmn_decision_key,
        monitors=monitors, expiration_date=expires, assets=assets)
    echo_json(snapshot.to_dict()) if as_json else click.echo(snapshot.id)


@snapshots.command("show")
@click.argument("snapshot_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_snapshot(snapshot_id: str, as_json: bool) -> None:
    """Show a snapshot with its assets and test results."""
    snapshot = registry_from_context().get_snapshot(snapshot_id)
    if as_json:
        echo_json(snapshot.to_dict())
        return
    for name, value in snapshot.to_dict().items():
        if name != "assets":
            click.echo(f"{name:<17} {value}")
    for asset in snapshot.assets:
        click.echo(f"asset             {asset.role} v{asset.version} {asset.uri}")


@click.group("runtimes")
def runtimes() -> None:
    """Runtimes that models deploy to."""


@runtimes.command("add")
@click.argument("name")
@click.option("--stage", type=click.Choice(STAGES), required=True)
@click.option("--service-tag", "service_tags", multiple=True)
@click.option("--endpoint", "endpoints", multiple=True, help="None means batch only.")
@click.option("--engine", type=click.Choice(RUNTIME_ENGINES), default="local", show_default=True,
              help="Where its jobs run: this node's process pool, or a Dask cluster.")
@click.option("--scheduler", help="Dask scheduler address, e.g. tcp://scheduler:8786.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def add_runtime(name: str, stage: str, service_tags: tuple[str, ...],
                endpoints: tuple[str, ...], engine: str, scheduler: str | None,
                as_json: bool) -> None:
    """Add a runtime."""
    runtime = registry_from_context().add_runtime(name, stage, service_tags=service_tags,
                                                  endpoints=endpoints, engine=engine,
                                                  scheduler=scheduler)
    echo_json(runtime.to_dict()) if as_json else click.echo(runtime.id)


@runtimes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_runtimes(as_json: bool) -> None:
    """List runtimes, most recent first."""
    found = registry_from_context().list_runtimes()
    if as_json:
        echo_json([r.to_dict() for r in found])
        return
    for r in found:
        mode = "online" if r.endpoints else "batch"
        engine = f"dask {r.scheduler}" if r.engine == "dask" else r.engine
        click.echo(f"{r.id}  {r.name:<20} {r.stage:<5} {mode:<7} {engine:<30} "
                   f"{','.join(r.service_tags)}")
