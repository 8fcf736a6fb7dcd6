"""Schema migrations (Alembic) run from code: ``mlc db upgrade`` and ``mlc serve`` call this."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

from .db import database_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    _import_models()
    command.upgrade(alembic_config(url), revision)


def current(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from .db import open_database

    engine = open_database(url)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev


def _import_models() -> None:
    """Register every table with the shared metadata (engine and connectors alike)."""
    import importlib

    import engine.persistence  # noqa: F401

    for module in ("connectors.registry", "connectors.tickets", "connectors.notifications",
                   "connectors.automations"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
