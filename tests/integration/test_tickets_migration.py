"""The hand-written migration 0003_tickets creates exactly what the models describe."""

from __future__ import annotations

import importlib.util

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData

import connectors.notifications._models  # noqa: F401  (registers the tables)
import connectors.tickets._models  # noqa: F401
from engine.db import Base, Database
from tests.conftest import BACKENDS, ROOT, _fresh_database

TABLES = {"tickets", "ticket_events", "ticket_webhook_deliveries", "notifications"}


def _migration():
    spec = importlib.util.spec_from_file_location(
        "migration_0003", ROOT / "alembic" / "versions" / "0003_tickets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    db, _url, cleanup = _fresh_database(request.param, tmp_path)
    yield db
    cleanup()


def test_migration_matches_models_and_downgrades(empty_database: Database):
    migration = _migration()
    assert (migration.revision, migration.down_revision) == ("0003_tickets", "0002_registry")
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in TABLES:
        Base.metadata.tables[name].to_metadata(ours)
    with empty_database.engine.begin() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with Operations.context(context):
            migration.upgrade()
        diff = [d for d in compare_metadata(context, ours)
                if not (isinstance(d, tuple) and d[0] == "remove_table")]
        assert diff == []
        with Operations.context(context):
            migration.downgrade()
        remaining = set(conn.dialect.get_table_names(conn))
        assert remaining.isdisjoint(TABLES)
