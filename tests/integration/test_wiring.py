"""The composition root: every connector topic and service wired once, cheaply, and the
``mlc`` command groups using the application's services rather than building their own."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from mlc.cli import main
from mlc.settings import Settings
from mlc.wiring import build_application

TOPICS = {"decision.evaluate", "ticket.create", "notify.send", "model.get-snapshot",
          "model.resolve-data", "job.training", "job.metrics", "job.scoring",
          "monitors.add-missing", "runtime.match", "model.deploy", "model.update-expiration",
          "model.copy-schedules"} | {
          "automation.prepare", "automation.build", "automation.evaluate-condition",
          "automation.deploy", "automation.notify"}


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'mlc.db'}"


def test_every_topic_and_service_is_wired_without_starting_anything(db_url):
    threads = threading.active_count()
    application = build_application(Settings(database_url=db_url))
    try:
        assert TOPICS <= set(application.handlers.topics())  # a connector may add topics of its own
        assert application.services.wired() == [
            "tickets", "ticket_poller", "notifications", "registry", "jobs", "artifacts",
            "predictor", "automations", "automation_poller"]
        assert application.services.ticket_poller is application.services.tickets.poller
        assert application.services.jobs.registry is application.services.registry
        assert application.services.predictor.registry is application.services.registry
        assert application.services.registry.signals is application.engine
        assert application.services.jobs._pool is None  # no model process until a job runs
        assert threading.active_count() == threads
    finally:
        application.close()


def test_jira_client_is_not_contacted_when_building(db_url):
    # nothing listens on port 9: a connection attempt would fail the build
    application = build_application(Settings(database_url=db_url, tickets="jira",
                                             jira_url="http://127.0.0.1:9", jira_user="u",
                                             jira_token="t"))
    try:
        assert application.services.tickets.service.default_system == "jira"
    finally:
        application.close()


def test_cli_groups_use_the_application_services(db_url, monkeypatch):
    monkeypatch.setenv("MLC_DATABASE_URL", db_url)
    monkeypatch.setenv("MLC_CONFIG", "/nonexistent/mlc.toml")
    runner = CliRunner()
    created = runner.invoke(main, ["models", "register", "churn", "--methodology",
                                   "classification", "--json"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(main, ["models", "list", "--json"])
    assert [m["name"] for m in json.loads(listed.output)] == ["churn"]
    for args in (["tickets", "list", "--json"], ["notifications", "list", "--json"],
                 ["jobs", "list", "--json"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == []


def test_groups_take_the_application_instance_instead_of_building_one(db_url, monkeypatch):
    import connectors.jobs.cli as jobs_cli
    import connectors.registry.cli as registry_cli
    import connectors.tickets.cli as tickets_cli

    def refuse(*_args, **_kwargs):
        raise AssertionError("built a second instance")

    monkeypatch.setattr(tickets_cli, "build_ticket_components", refuse)
    monkeypatch.setattr(registry_cli, "SqlModelRegistry", refuse)
    monkeypatch.setattr(jobs_cli, "JobService", refuse)
    application = build_application(Settings(database_url=db_url))
    try:
        for group in (tickets_cli.tickets, registry_cli.models, jobs_cli.jobs):
            result = CliRunner().invoke(group, ["list", "--json"], obj=application)
            assert result.exit_code == 0, result.output
    finally:
        application.close()
