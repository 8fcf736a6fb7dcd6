"""Chaos fixtures: a PostgreSQL cluster private to the test (never the shared server)."""

from __future__ import annotations

import pytest

from tests.support.private_postgres import PrivatePostgres, postgres_bin


@pytest.fixture
def private_postgres():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg = PrivatePostgres()
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def chaos_database(request, tmp_path):
    """A database URL on SQLite or on a private PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chaos.db'}"
        return
    yield request.getfixturevalue("private_postgres").url
