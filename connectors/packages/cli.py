"""``mlc artifacts ...``: a model's artifacts per environment from the command line.

Also ``mlc models test DIR`` (the model folder's own tests), added to the registry's
``models`` group here so that the registry need not know about model packages.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click

from connectors.cli_context import context_service, echo_json
from connectors.registry import ARTIFACT_ENVS, ArtifactRecord
from connectors.registry.cli import models
from engine.errors import ValidationError

from .artifacts import ArtifactService
from .environments import ModelEnvironments
from .model_tests import ModelTestsFailed, has_tests, run_model_tests


def artifacts_from_context() -> ArtifactService:
    from connectors.registry.cli import registry_from_context

    return context_service(lambda s: s.artifacts, lambda obj: ArtifactService.from_settings(
        registry_from_context(), obj.settings))


def parse_metadata(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON keeps its type (0.91, true, [1])."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--metadata expects KEY=VALUE, not {pair!r}")
        try:
            out[name.strip()] = json.loads(value)
        except ValueError:
            out[name.strip()] = value
    return out


def _user(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _line(a: ArtifactRecord) -> str:
    source = f" from {a.source_artifact_id}" if a.source_artifact_id else ""
    when = a.created_at.isoformat(timespec="seconds") if a.created_at else ""
    return (f"{a.env}/{a.version:<4} {a.action:<8} by {a.created_by or '?':<12} {when}  "
            f"{a.content_hash[:19]}  {a.files} files{source}  {a.id}")


@click.group("artifacts")
def artifacts() -> None:
    """A model's artifacts, versioned per environment (test, prod)."""


@artifacts.command("upload")
@click.argument("model")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--env", type=click.Choice(ARTIFACT_ENVS), required=True,
              help="The environment the artifact is for.")
@click.option("--metadata", "metadata", multiple=True,
              help="KEY=VALUE (JSON values keep their type; repeatable).")
@click.option("--user", help="Who uploads (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def upload(model: str, folder: Path, env: str, metadata: tuple[str, ...], user: str | None,
           as_json: bool) -> None:
    """Upload FOLDER as the next ENV version of MODEL's artifact."""
    record = artifacts_from_context().upload(model, env, folder,
                                             metadata=parse_metadata(metadata),
                                             user=_user(user))
    echo_json(record.to_dict()) if as_json else click.echo(
        f"{record.label} {record.content_hash} {record.id}")


@artifacts.command("promote")
@click.argument("model")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--metadata", "metadata", multiple=True, help="KEY=VALUE added to its metadata.")
@click.option("--user", help="Who promotes (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def promote(model: str, version: int, metadata: tuple[str, ...], user: str | None,
            as_json: bool) -> None:
    """Copy test VERSION of MODEL's artifact to the next prod version."""
    record = artifacts_from_context().promote(model, version, user=_user(user),
                                              metadata=parse_metadata(metadata))
    echo_json(record.to_dict()) if as_json else click.echo(
        f"{record.label} {record.content_hash} {record.id}")


@artifacts.command("list")
@click.argument("model")
@click.option("--env", type=click.Choice(ARTIFACT_ENVS), help="Only this environment.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_artifacts(model: str, env: str | None, as_json: bool) -> None:
    """MODEL's uploads and promotions, oldest first (its artifact history)."""
    service = artifacts_from_context()
    found = service.registry.list_artifacts(service.registry.get_model(model).id, env)
    if as_json:
        echo_json([a.to_dict() for a in found])
        return
    for record in found:
        click.echo(_line(record))


@artifacts.command("show")
@click.argument("model")
@click.argument("env", type=click.Choice(ARTIFACT_ENVS))
@click.argument("version", type=click.IntRange(min=1), required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(model: str, env: str, version: int | None, as_json: bool) -> None:
    """One ENV version of MODEL's artifact (the newest without VERSION)."""
    registry = artifacts_from_context().registry
    record = registry.find_artifact(registry.get_model(model).id, env, version)
    if as_json:
        echo_json(record.to_dict())
        return
    for name, value in record.to_dict().items():
        click.echo(f"{name:<19} {value}")


@models.command("test")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds the environment build and the tests may take.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def test_model(folder: Path, timeout: float, as_json: bool) -> None:
    """Run FOLDER's test_model.py in the model's environment, as the deploy process does.

    The environment's build and pytest's output go to stderr; the report to stdout. Exits
    1 when a test fails or the tests cannot run.
    """
    if not (folder / "model.py").is_file() or not has_tests(folder):
        raise ValidationError(f"{folder} is not a model folder with model.py and "
                              f"test_model.py")
    settings = click.get_current_context().find_root().obj.read_settings()
    report = run_model_tests(folder, ModelEnvironments.from_settings(settings),
                             timeout=timeout, log=lambda line: click.echo(line, err=True))
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(f"{report.status}: {report.summary()}")
        for failure in report.failures:
            click.echo(f"--- {failure['test']} ({failure['kind']})\n{failure['output']}")
    if not report.ok:
        raise ModelTestsFailed(f"model tests {report.status}: {report.summary()}")
