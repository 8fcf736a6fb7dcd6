"""Alembic environment: migrations for the engine's and the connectors' tables.

``mlc db upgrade`` runs these with the configured database URL; the URL is passed in through
the Alembic config (``sqlalchemy.url``) by :func:`engine.migrate.upgrade`.
"""

from __future__ import annotations

from alembic import context
from engine.db import Base, database_url, open_database

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=database_url(config.get_main_option("sqlalchemy.url")),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = open_database(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
