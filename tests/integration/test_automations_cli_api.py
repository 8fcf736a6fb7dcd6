"""``mlc automations`` on a folder of declaration files (errors reported per file, idempotent
re-registration) and the same operations over ``/api/automations``."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from engine import clock
from mlc.cli import main
from tests.support.automations import automation_application
from web import create_app

GOOD = '''
from connectors.automations import (Automation, BuildAndDeploy, BuildMetric,
    BuildSpecifications, DeploymentSpecifications, ScheduledTrigger, SlackNotification,
    ThresholdDirection)

build = BuildSpecifications(git_uri="file:///srv/git/models.git#churn", git_branch="main",
                            tags=["nightly"], env_vars=["EPOCHS=3"])

weekly = Automation(
    name="retrain-churn", model_id="churn", description="weekly retrain",
    trigger=ScheduledTrigger(cron="{cron}"),
    action=BuildAndDeploy(build_spec=build,
                          deployment_condition=BuildMetric("f1", ThresholdDirection.ABOVE, "0.65"),
                          deployment_spec=DeploymentSpecifications(number_of_pods=1)),
    on_success=SlackNotification(webhook="https://hooks.slack.com/services/T/B/secret-path"))

more = [Automation(name="hourly-churn", model_id="churn", trigger=ScheduledTrigger(interval="Hourly"),
                   action=BuildAndDeploy(build_spec=build))]
'''


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "automations"
    (d / "nested").mkdir(parents=True)
    (d / "good.py").write_text(GOOD.replace("{cron}", "0 0 * * 0"))
    (d / "nested" / "broken.py").write_text("def oops(:\n")
    (d / "raises.py").write_text(textwrap.dedent('''
        from connectors.automations import BuildMetric
        condition = BuildMetric("f1", "ABOVE", 0.65)
    '''))
    (d / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (d / ".hidden").mkdir()
    (d / ".hidden" / "ignored.py").write_text("raise RuntimeError('never imported')\n")
    return d


@pytest.fixture
def cli(tmp_path, monkeypatch):
    clock.reset()
    monkeypatch.setenv("MLC_DATABASE_URL", f"sqlite:///{tmp_path / 'mlc.db'}")
    monkeypatch.setenv("MLC_CONFIG", "/nonexistent/mlc.toml")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_register_reports_each_file_and_is_idempotent(cli, folder):
    first = cli("automations", "register", "-p", str(folder))
    assert first.exit_code == 1
    assert "created   retrain-churn (model churn, good.py)" in first.stdout
    assert "created   hourly-churn" in first.stdout
    assert "error: nested/broken.py: SyntaxError (line 1)" in first.stderr
    assert "error: raises.py: DeclarationError (line 3): BuildMetric: threshold must be a string" in first.stderr
    assert "error: exits.py: SystemExit" in first.stderr
    assert "ignored.py" not in first.output
    again = cli("automations", "register", "-p", str(folder / "good.py"), "--json")
    assert again.exit_code == 0, again.output
    assert [c["action"] for c in json.loads(again.stdout)["changes"]] == ["unchanged", "unchanged"]
    (folder / "good.py").write_text(GOOD.replace("{cron}", "15 3 * * 1"))
    third = cli("automations", "register", "-p", str(folder / "good.py"))
    assert "updated   retrain-churn" in third.stdout and "unchanged hourly-churn" in third.stdout


def test_list_show_pause_resume_run_now_delete(cli, folder):
    cli("automations", "register", "-p", str(folder / "good.py"))
    listed = json.loads(cli("automations", "list", "--json").stdout)
    assert [a["name"] for a in listed] == ["hourly-churn", "retrain-churn"]
    shown = cli("automations", "show", "retrain-churn", "--json")
    data = json.loads(shown.stdout)
    assert data["cron"] == "0 0 * * 0" and data["status"] == "active"
    assert "secret-path" not in shown.stdout
    assert data["spec"]["on_success"]["webhook"] == "https://hooks.slack.com/***"
    assert "paused" in cli("automations", "pause", "retrain-churn").stdout
    assert json.loads(cli("automations", "show", "retrain-churn", "--json").stdout)["next_due_at"] is None
    assert "active" in cli("automations", "resume", "retrain-churn").stdout
    run = cli("automations", "run-now", "retrain-churn")
    assert run.exit_code == 0 and len(run.stdout.strip()) == 36
    human = cli("automations", "show", "retrain-churn").stdout
    assert "trigger=manual" in human and run.stdout.strip() in human
    assert cli("automations", "delete", "retrain-churn").exit_code == 0
    missing = cli("automations", "show", "retrain-churn")
    assert missing.exit_code == 1 and "no automation named 'retrain-churn'" in missing.output


@pytest.fixture
def client(sqlite_database, tmp_path):
    from mlc.settings import Settings

    application = automation_application(sqlite_database, tmp_path)
    application.settings = Settings(database_url=sqlite_database.test_url)
    app = create_app(application)
    app.testing = True
    return app.test_client()


BODY = {"name": "api-auto", "model_id": "churn",
        "trigger": {"__kind__": "ScheduledTrigger", "interval": "Daily"},
        "action": {"__kind__": "BuildAndDeploy",
                   "build_spec": {"__kind__": "BuildSpecifications",
                                  "git_uri": "file:///srv/git/models.git#churn"}},
        "on_error": {"__kind__": "CustomWebhook", "url": "https://example.com/hook?token=t0k",
                     "headers": {"Authorization": "Bearer abc"}}}


def test_rest_register_list_show_and_act(client):
    created = client.post("/api/automations", json=BODY)
    assert created.status_code == 200, created.json
    assert created.json["action"] == "created"
    assert client.post("/api/automations", json=BODY).json["action"] == "unchanged"
    assert [a["name"] for a in client.get("/api/automations").json] == ["api-auto"]
    shown = client.get("/api/automations/api-auto")
    assert shown.status_code == 200 and "t0k" not in shown.text and "abc" not in shown.text
    assert shown.json["cron"] == "0 0 * * *"
    assert client.post("/api/automations/api-auto/pause").json["status"] == "paused"
    assert client.post("/api/automations/api-auto/resume").json["status"] == "active"
    run = client.post("/api/automations/api-auto/run-now", json={})
    assert run.status_code == 200 and run.json["variables"]["TRIGGER"] == "manual"
    runs = client.get("/api/automations/api-auto/runs").json
    assert runs[0]["instance_id"] == run.json["id"]
    assert client.delete("/api/automations/api-auto").json == {"name": "api-auto", "deleted": True}
    assert client.get("/api/automations/api-auto").status_code == 404


@pytest.mark.parametrize("change, message", [
    ({"trigger": {"__kind__": "ScheduledTrigger", "cron": "every day"}}, "cron"),
    ({"trigger": {"__kind__": "Nope"}}, "not understood"),
    ({"trigger": {"__kind__": "ScheduledTrigger", "cron": "0 0 * * *", "extra": 1}}, "invalid"),
    ({"name": "bad name"}, "letters"),
])
def test_rest_refuses_invalid_declarations(client, change, message):
    answer = client.post("/api/automations", json={**BODY, **change})
    assert answer.status_code == 400 and message in answer.json["message"]


def test_openapi_documents_the_automation_routes(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert {"/api/automations", "/api/automations/{name}", "/api/automations/{name}/run-now",
            "/api/automations/{name}/pause", "/api/automation-builds/{build_id}"} <= set(paths)
