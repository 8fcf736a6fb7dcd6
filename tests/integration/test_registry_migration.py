"""The hand-written migration 0002_registry creates exactly what the tables describe."""

from __future__ import annotations

import importlib.util

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData

import connectors.registry  # noqa: F401  (registers the tables)
from engine.db import Base, Database
from tests.conftest import BACKENDS, ROOT, _fresh_database

TABLES = {"registry_models", "registry_snapshots", "registry_assets", "registry_runtimes",
          "registry_deployed_models", "registry_jobs"}


def _migration():
    spec = importlib.util.spec_from_file_location(
        "migration_0002", ROOT / "alembic" / "versions" / "0002_registry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    db, _url, cleanup = _fresh_database(request.param, tmp_path)
    yield db
    cleanup()


def test_migration_matches_tables_and_downgrades(empty_database: Database):
    migration = _migration()
    assert (migration.revision, migration.down_revision) == ("0002_registry", "0001_engine")
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
        assert set(conn.dialect.get_table_names(conn)).isdisjoint(TABLES)
