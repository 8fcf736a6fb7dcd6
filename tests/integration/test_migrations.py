"""The Alembic migrations, applied in order to an empty database, build exactly the schema the
SQLAlchemy models describe, and downgrade back to nothing. Covers every migration, so a model
change without its migration (or the reverse) fails here on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command
from engine.db import Base
from engine.migrate import _import_models, alembic_config, current, upgrade
from tests.conftest import BACKENDS, _fresh_database


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path):
    db, url, cleanup = _fresh_database(request.param, tmp_path)
    yield url
    cleanup()


def _tables(url: str) -> set[str]:
    from engine.db import open_database

    engine = open_database(url)
    with engine.connect() as conn:
        names = set(conn.dialect.get_table_names(conn))
    engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_url):
    upgrade(empty_url)
    heads = ScriptDirectory.from_config(alembic_config(empty_url)).get_heads()
    assert len(heads) == 1, f"migrations must form one line, found heads {heads}"
    assert current(empty_url) == heads[0]
    _import_models()
    from engine.db import open_database

    engine = open_database(empty_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
    assert _tables(empty_url) == set(Base.metadata.tables)

    upgrade(empty_url)  # idempotent
    command.downgrade(alembic_config(empty_url), "base")
    assert _tables(empty_url) == set()
