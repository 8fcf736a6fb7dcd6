"""How the connectors' click groups find their collaborators.

Under ``mlc`` the context object is the application (:class:`mlc.wiring.Application`, built
lazily), whose ``services`` hold the one instance of each connector service the composition
root wired. Tests and embedders may pass a bare object with ``db``, ``settings`` and ``engine``;
then the service is built from those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .services import ConnectorServices

T = TypeVar("T")


def context_service(pick: Callable[[ConnectorServices], T | None],
                    build: Callable[[Any], T]) -> T:
    """``pick(ctx.obj.services)`` (e.g. ``lambda s: s.jobs``), or ``build(ctx.obj)`` when the
    object has no such service."""
    obj = click.get_current_context().obj
    services = getattr(obj, "services", None)
    found = pick(services) if isinstance(services, ConnectorServices) else None
    return found if found is not None else build(obj)


def echo_json(value: Any) -> None:
    """A command's ``--json`` output."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    """Engine values (``to_json()``) as their JSON objects, anything else as text."""
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else str(value)
