"""Fixtures shared by the REST API tests: an app over a fresh database, and fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine, ExternalTaskService, HandlerRegistry
from mlc.settings import Settings
from mlc.wiring import Application, build_application
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "tests" / "fixtures" / "bpmn"
MODELER = ROOT / "tests" / "fixtures" / "modeler"
TOKEN = "s3cret-token-for-tests"


def make_application(db, *, token: str | None = None) -> Application:
    handlers = HandlerRegistry()
    engine = Engine(db, handlers)
    settings = Settings(database_url=db.test_url, api_token=token)
    return Application(settings, db, engine, ExternalTaskService(engine), handlers)


def make_app(db, *, token: str | None = None, **config):
    app = create_app(make_application(db, token=token), config=config or None)
    app.testing = True
    return app


def make_wired_app(db, *, config: dict | None = None, **settings):
    """An app over the real composition root (every connector wired) on the test database;
    ``settings`` are :class:`Settings` fields. Close ``app.extensions["mlc_application"]`` after."""
    application = build_application(Settings(database_url=db.test_url, **settings), migrate=False)
    db.create_all()  # the connectors' tables: their modules are imported by now
    app = create_app(application, config=config)
    app.testing = True
    return app


def deploy_files(client, *names: str, folder: Path = BPMN, prefix: str = "/api"):
    data = {}
    for i, name in enumerate(names):
        data[f"file{i}"] = ((folder / name).open("rb"), name)
    if prefix == "/api":
        return client.post("/api/deployments", data=data, content_type="multipart/form-data")
    return client.post("/engine-rest/deployment/create", data=data,
                       content_type="multipart/form-data")


@pytest.fixture
def api_app(database):
    return make_app(database)


@pytest.fixture
def client(api_app):
    return api_app.test_client()


@pytest.fixture
def wired_client(database):
    """A test client of an app built by ``mlc.wiring.build_application`` (both back ends)."""
    app = make_wired_app(database)
    yield app.test_client()
    app.extensions["mlc_application"].close()


@pytest.fixture
def wired_apps(database):
    """``build(**settings)`` -> a test client of a wired app with those Settings fields."""
    apps = []

    def build(**settings):
        app = make_wired_app(database, **settings)
        apps.append(app)
        return app.test_client()

    yield build
    for app in apps:
        app.extensions["mlc_application"].close()


@pytest.fixture
def sqlite_client(sqlite_database):
    return make_app(sqlite_database).test_client()
