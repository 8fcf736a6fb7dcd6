"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL.

PostgreSQL runs when ``MLC_TEST_POSTGRES_URL`` names a server (``.ci/run`` starts the machine's
PostgreSQL and sets it); each test gets its own schema so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.db import Database, open_database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MLC_TEST_POSTGRES_URL")

BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _fresh_database(backend: str, tmp_path: Path):
    """Create an empty database of ``backend``; return (Database, url, cleanup)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'mlc.db'}"
        db = Database(url)
        return db, url, lambda: db.dispose()
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = open_database(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)

    def cleanup() -> None:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return db, url, cleanup


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path) -> Database:
    """An empty, migrated-by-create_all database on each configured back end."""
    db, url, cleanup = _fresh_database(request.param, tmp_path)
    db.test_url = url  # type: ignore[attr-defined]  # for tests that start other processes
    db.create_all()
    yield db
    cleanup()


@pytest.fixture
def sqlite_database(tmp_path) -> Database:
    """An empty SQLite database (for tests whose subject is not the back end)."""
    db, url, cleanup = _fresh_database("sqlite", tmp_path)
    db.test_url = url  # type: ignore[attr-defined]
    db.create_all()
    yield db
    cleanup()


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.tck.summary import print_totals

    print_totals(terminalreporter)


@pytest.fixture(scope="session")
def model_envs(tmp_path_factory):
    """Model environments shared by every test of the run, in one folder that the xdist
    workers share too: a requirements.model is built once per run (the per-key file lock
    makes the other workers wait for that build), from the machine's uv cache."""
    from connectors.packages import ModelEnvironments

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    return ModelEnvironments(base / "model-envs")
