"""Building blocks of the automation tests: an application with the automation topics wired over a
test database, a worker to drain it, and a real local git repository holding a model."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.automations import GitBuilder, create_views, install_automations, secrets_in
from connectors.services import ConnectorServices
from engine import Engine, ExternalTaskService, HandlerRegistry, Worker
from mlc.settings import secrets_from

SAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "samples" / "classifier"

# Appended to the sample model: proves env vars and the secret reach the build's process
# (as metrics) without their values ever being logged.
ENV_PROBE = '''

_sample_train = train


def train(df, params):
    import os
    metrics = _sample_train(df, params)
    metrics["env_a"] = float(os.environ.get("A", "0"))
    metrics["saw_token"] = 1.0 if os.environ.get("GIT_TOKEN") == os.environ.get("EXPECTED_TOKEN_FOR_TEST", "-") else 0.0
    metrics["saw_secret_store"] = float(any(k.startswith("MLC_SECRET_") for k in os.environ))
    metrics["saw_engine_settings"] = float(any(k.startswith("MLC_JIRA") for k in os.environ))
    return metrics
'''


@dataclass
class Settings:
    data_roots: list = field(default_factory=list)


@dataclass
class AutomationApplication:
    db: Any
    engine: Engine
    handlers: HandlerRegistry
    tasks: ExternalTaskService
    settings: Settings
    services: ConnectorServices = field(default_factory=ConnectorServices)

    @property
    def automations(self):
        return self.services.automations

    @property
    def poller(self):
        return self.services.automation_poller

    def drain(self, limit: int = 100) -> int:
        worker = Worker(self.engine, self.handlers, worker_id="test-worker")
        ran = 0
        while ran < limit and worker.run_once():
            ran += 1
        worker.close()
        return ran


def automation_application(db, tmp_path: Path) -> AutomationApplication:
    with db.engine.begin() as conn:
        create_views(conn)
    handlers = HandlerRegistry()
    engine = Engine(db, handlers)
    application = AutomationApplication(db, engine, handlers, ExternalTaskService(engine), Settings())
    builder = GitBuilder(tmp_path / "builds", secrets_in(secrets_from(os.environ)))
    install_automations(application, builder=builder, notify_timeout=5)
    return application


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=test@example.com",
                           "-c", "user.name=test", *args], check=True, capture_output=True,
                          text=True).stdout


def model_repository(tmp_path: Path, *, broken: bool = False) -> Path:
    """A git repository (branch main) with the sample model under models/classifier."""
    repo = tmp_path / "repo"
    target = repo / "models" / "classifier"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    model = target / "model.py"
    model.write_text(model.read_text() + ENV_PROBE)
    if broken:
        model.write_text(model.read_text() + "\n\ndef train(df, params):\n"
                         "    raise RuntimeError('feature f9 is missing')\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "sample model")
    return repo
