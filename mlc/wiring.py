"""The composition root: settings -> database -> engine -> connector handlers and services.

The CLI and the web app both build their collaborators here, so a topic is wired to its
handler in exactly one place, and every command or route that needs a connector's service
(tickets, the registry, jobs...) finds the same instance on ``Application.services``
(a :class:`connectors.services.ConnectorServices`: ``application.services.registry``).

Building an application stays cheap enough for one-shot commands such as ``mlc instances``: no
model subprocess, thread or network call is started until a service is actually used (the
job service's process pool and the Jira client are created on first use).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from connectors.services import ConnectorServices
from engine import Database, Engine, ExternalTaskService, HandlerRegistry
from engine.budget import configure as configure_budget
from engine.db import open_database
from engine.errors import ConfigurationError
from engine.migrate import upgrade
from engine.user_tasks import UserTaskService

from .settings import Settings


@dataclass
class Application:
    """Everything a command or request needs; ``click`` commands find it as ``ctx.obj``."""

    settings: Settings
    db: Database
    engine: Engine
    tasks: ExternalTaskService
    handlers: HandlerRegistry
    services: ConnectorServices = field(default_factory=ConnectorServices)

    @property
    def user_tasks(self) -> UserTaskService:
        return UserTaskService(self.engine)

    def close(self) -> None:
        self.services.close()  # ends model processes, if any were started
        self.db.dispose()


def build_application(settings: Settings | None = None, *, migrate: bool = True,
                      job_spares: int = 0, pool_size: int | None = None) -> Application:
    """Open the configured database (migrating it when asked) and wire every handler.

    Args:
        settings: configuration (default: from the environment).
        migrate: bring the database schema up to date first.
        job_spares: warm model processes the job pool keeps once it has run a job
            (long-lived workers may want 1-2; one-shot commands 0).
        pool_size: database connections kept open (SQLAlchemy's default of 5, plus 10 on
            demand, otherwise); a server sizes it to its threads so none waits for one.
    """
    settings = settings or Settings.from_env()
    configure_budget(settings.evaluation_limits())  # every FEEL / JUEL evaluation from here on
    if migrate:
        upgrade(settings.database_url)
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 4}
    db = Database(engine=open_database(settings.database_url, **pool))
    handlers = HandlerRegistry()
    engine = Engine(db, handlers, allow_scripts=settings.allow_scripts,
                    outcome_variable=settings.outcome_variable)
    application = Application(settings, db, engine, ExternalTaskService(engine), handlers)
    register_handlers(application, job_spares=job_spares)
    if migrate:
        engine.convert_stored_instances()  # after the handlers: listeners must be known
    return application


def register_handlers(application: Application, *, job_spares: int = 0) -> None:
    """Register the topic handlers of every connector and keep their services."""
    from connectors.decisions import register_decision_handlers

    register_decision_handlers(application.handlers, application.engine)
    _wire_tickets(application)
    _wire_notifications(application)
    _wire_models(application, job_spares)
    from connectors.automations import install_automations

    install_automations(application)  # automation.* topics; services automations, automation_poller
    load_handler_modules(application.handlers, application.settings.handler_modules)


def load_handler_modules(handlers: HandlerRegistry, modules: list[str]) -> None:
    """Let each module of ``MLC_HANDLER_MODULES`` register its own in-process topics.

    A team's handlers then run in ``mlc worker`` / ``mlc serve`` like the connectors' own,
    without a fork of the composition root. Each module defines
    ``register_handlers(handlers: HandlerRegistry) -> None``.
    """
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConfigurationError(f"MLC_HANDLER_MODULES: cannot import {name}: {exc}") \
                from exc
        register = getattr(module, "register_handlers", None)
        if not callable(register):
            raise ConfigurationError(f"MLC_HANDLER_MODULES: {name} has no "
                                     "register_handlers(handlers) function")
        register(handlers)


def _wire_tickets(application: Application) -> None:
    from connectors.tickets import build_ticket_components, register_ticket_handlers

    parts = build_ticket_components(application.settings, application.db, application.engine)
    register_ticket_handlers(application.handlers, parts.service)
    application.services.tickets = parts
    application.services.ticket_poller = parts.poller


def _wire_notifications(application: Application) -> None:
    from connectors.notifications import NotificationFeed, register_notification_handlers

    feed = NotificationFeed(application.db)
    register_notification_handlers(application.handlers, feed, application.settings.slack_webhook)
    application.services.notifications = feed


def _wire_models(application: Application, job_spares: int) -> None:
    from connectors.jobs import JobService, register_model_handlers
    from connectors.registry import SqlModelRegistry
    from connectors.serving import OnlinePredictor

    registry = SqlModelRegistry(application.db, signals=application.engine)
    jobs = JobService.from_settings(application.db, application.settings, registry=registry,
                                    spares=job_spares)
    register_model_handlers(application.handlers, registry, jobs)
    services = application.services
    services.registry, services.jobs, services.artifacts = registry, jobs, jobs.artifacts
    services.predictor = OnlinePredictor(registry, Path(application.settings.model_cache),
                                         environments=jobs.environments, artifacts=jobs.artifacts)
