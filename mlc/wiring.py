"""The composition root: settings -> database -> engine -> connector handlers.

The CLI and the web app both build their collaborators here, so a topic is wired to its
handler in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import Database, Engine, ExternalTaskService, HandlerRegistry
from engine.migrate import upgrade

from .settings import Settings


@dataclass
class Runtime:
    """Everything a command or request needs; ``click`` commands find it as ``ctx.obj``."""

    settings: Settings
    db: Database
    engine: Engine
    tasks: ExternalTaskService
    handlers: HandlerRegistry
    services: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.db.dispose()


def build_runtime(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    """Open the configured database (migrating it when asked) and wire every handler."""
    settings = settings or Settings.from_env()
    if migrate:
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    handlers = HandlerRegistry()
    engine = Engine(db, handlers, allow_scripts=settings.allow_scripts)
    runtime = Runtime(settings, db, engine, ExternalTaskService(engine), handlers)
    register_handlers(runtime)
    return runtime


def register_handlers(runtime: Runtime) -> None:
    """Register the topic handlers of every connector on the runtime's registry."""
    from connectors.decisions import register_decision_handlers

    register_decision_handlers(runtime.handlers, runtime.engine)
