"""``mlc setup``: what ``make run`` does before serving. Migrates the database (as every
command that opens it), deploys processes/ and dmn/ and, in an empty registry only, registers the sample model with a snapshot, a batch runtime and an
online runtime; then prints the URLs and the next commands to try."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.errors import ConfigurationError

from .sample import SAMPLE_MODEL, SAMPLE_SERVICE_TAG, deploy_shipped, install_sample

if TYPE_CHECKING:
    from connectors.registry import ModelRegistry
    from connectors.tickets import Ticket
    from engine import DeploymentResult

    from .wiring import Application

HEADER = """\
MLC Engine is set up.
  cockpit         {base}/                (dashboard, diagrams, the reviewer's ticket inbox)
  REST API        {base}/api             (docs: {base}/api/docs, OpenAPI: {base}/api/openapi.json)
  Camunda REST    {base}/engine-rest     (Camunda Modeler: Deploy to this endpoint)
  health          {base}/healthz
"""

WAIT_FOR_REVIEW = """\
The sample's deploy process starts with the server: its test job runs first (about 15 s), and
only then does review ticket MLC-1 open. In another terminal, wait for it,
  until curl -s '{base}/api/tickets?open=true' | grep -q MLC-1; do sleep 2; done
"""

APPROVE = """\
  curl -s -X POST {base}/api/tickets/{system}/{key}/transition -H 'Content-Type: application/json' \\
       -d '{{"status": "Done", "fields": {{"Expiration Date": "2027-06-30"}}}}'
"""

NONE_OPEN = """\
No review ticket is open: every snapshot so far has been decided. A new snapshot opens one:
  curl -s -X POST {base}/api/models/{model}/snapshots -H 'Content-Type: application/json' \\
       -d '{{"source": "sample:classifier", "tags": ["run_test", "jira"], "dmn_decision_key": "classification_approval"}}'
"""

AFTER = """\
Then:
  curl -s '{base}/api/deployed-models?pretty=1'        # deployed as batch on batch-dev
  curl -s -X POST {base}/api/signals -H 'Content-Type: application/json' \\
       -d '{{"name": "com.modelop.mlc.definitions.Signals_Run_Back_Test_Jira", "variables": {{"MODEL_ID": "{model}"}}}}'
  curl -s -X POST {base}/api/signals -H 'Content-Type: application/json' \\
       -d '{{"name": "com.modelop.mlc.definitions.Signals_DEPLOYED_BATCH_JOB", "variables": {{"TAG": "{tag}"}}}}'
  .venv/bin/mlc instances                               # what ran: status and outcome
  .venv/bin/mlc demo                                    # all of it, scripted
The README's walkthrough ("By hand, with curl") shows each step's answer.
"""


@click.command()
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True,
              help="Where the server will listen (for the printed URLs).")
@click.option("--no-sample", is_flag=True, help="Deploy the shipped files only.")
def setup(base_url: str, no_sample: bool) -> None:
    """Deploy processes/ and dmn/; register the sample model when the registry is empty."""
    from .cli import current_application

    try:
        application = current_application()
        result = deploy_shipped(application.engine)
        deployed = _count(result)
        click.echo(f"deployed processes/ and dmn/ ({deployed})")
        sample = None
        if not no_sample:
            roots = application.settings.data_roots
            if not roots:
                click.echo("error: MLC_DATA_ROOTS is empty: the sample data needs a data root "
                           "(make run sets var/data)", err=True)
                sys.exit(1)
            sample = install_sample(_registry(application), Path(roots[0]))
        open_reviews = _open_reviews(application)
    except Exception as exc:  # noqa: BLE001 - one line, as every command
        message = getattr(exc, "message", None) or str(exc)
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    base = base_url.rstrip("/")
    values = {"base": base, "model": SAMPLE_MODEL, "tag": SAMPLE_SERVICE_TAG}
    parts = [HEADER.format(**values)]
    if sample is not None:
        parts.append(f"Registered {SAMPLE_MODEL} (snapshot {sample.snapshot_id}, tags run_test, "
                     "jira), runtimes batch-dev and online-dev.\n")
        parts.append(WAIT_FOR_REVIEW.format(**values) + "then approve it in the ticket inbox "
                     f"({base}/tickets) or with curl (Rejected rejects the model):\n"
                     + APPROVE.format(system="local", key="MLC-1", **values))
    elif open_reviews:
        parts.append("The registry already has models: nothing registered.\n")
        many = len(open_reviews) > 1
        keys = ", ".join(t.key for t in open_reviews)
        parts.append(f"Review ticket{'s' * many} {keys} "
                     f"{'are' if many else 'is'} open. Approve {'one' if many else 'it'} in "
                     f"the ticket inbox ({base}/tickets) or with curl (Rejected rejects the "
                     "model):\n"
                     + APPROVE.format(system=open_reviews[0].system,
                                        key=open_reviews[0].key, **values))
    else:
        parts.append("The registry already has models: nothing registered.\n")
        parts.append(NONE_OPEN.format(**values))
    parts.append(AFTER.format(**values))
    click.echo("\n".join(parts))


def _registry(application: Application) -> ModelRegistry:
    """The registry the sample goes into (build_application always wires one)."""
    if application.services.registry is None:
        raise ConfigurationError("this application was built without a model registry")
    return application.services.registry


def _open_reviews(application: Application) -> list[Ticket]:
    """The review tickets still waiting for a decision."""
    tickets = application.services.tickets
    if tickets is None:
        return []
    return [t for t in tickets.store.list(kind="review")
            if not tickets.resolver.is_terminal(t.system, t.status)]


def _count(result: DeploymentResult) -> str:
    return f"changed files get a new version; {len(result.filtered)} definitions unchanged"
