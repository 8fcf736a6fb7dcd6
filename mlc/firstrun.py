"""``mlc setup``: what ``make run`` does before serving. Deploys processes/ and dmn/ and, in
an empty registry only, registers the sample model with a snapshot, a batch runtime and an
online runtime; then prints the URLs and the next commands to try."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .sample import SAMPLE_MODEL, SAMPLE_SERVICE_TAG, deploy_shipped, install_sample

NEXT_STEPS = """\
MLC Engine is set up.
  cockpit         {base}/                (dashboard, diagrams, the reviewer's ticket inbox)
  REST API        {base}/api             (docs: {base}/api/docs, OpenAPI: {base}/api/openapi.json)
  Camunda REST    {base}/engine-rest     (Camunda Modeler: Deploy to this endpoint)
  health          {base}/healthz

{sample_line}
Next, open {base}/tickets and approve MLC-1 in the browser, or in another terminal:
  curl -s '{base}/api/tickets?open=true'                       # the review ticket
  curl -s -X POST {base}/api/tickets/MLC-1/transition -H 'Content-Type: application/json' \\
       -d '{{"status": "Done", "fields": {{"Expiration Date": "2027-06-30"}}}}'
  curl -s '{base}/api/deployed-models'                          # deployed as batch
  curl -s -X POST {base}/api/signals -H 'Content-Type: application/json' \\
       -d '{{"name": "com.modelop.mlc.definitions.Signals_Run_Back_Test_Jira", "variables": {{"MODEL_ID": "{model}"}}}}'
  curl -s -X POST {base}/api/signals -H 'Content-Type: application/json' \\
       -d '{{"name": "com.modelop.mlc.definitions.Signals_DEPLOYED_BATCH_JOB", "variables": {{"TAG": "{tag}"}}}}'
  curl -s '{base}/api/process-instances'                        # what ran
  .venv/bin/mlc demo                                            # all of it, scripted
"""


@click.command()
@click.option("--base-url", default="http://127.0.0.1:8080", show_default=True,
              help="Where the server will listen (for the printed URLs).")
@click.option("--no-sample", is_flag=True, help="Deploy the shipped files only.")
def setup(base_url: str, no_sample: bool) -> None:
    """Deploy processes/ and dmn/; register the sample model when the registry is empty."""
    from .cli import runtime
    from .wiring import REGISTRY

    try:
        rt = runtime()
        result = deploy_shipped(rt.engine)
        deployed = _count(result)
        click.echo(f"deployed processes/ and dmn/ ({deployed})")
        sample = None
        if not no_sample:
            roots = rt.settings.data_roots
            if not roots:
                click.echo("error: MLC_DATA_ROOTS is empty: the sample data needs a data root "
                           "(make run sets var/data)", err=True)
                sys.exit(1)
            sample = install_sample(rt.services[REGISTRY], Path(roots[0]))
    except Exception as exc:  # noqa: BLE001 - one line, as every command
        message = getattr(exc, "message", None) or str(exc)
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    if sample is not None:
        line = (f"Registered {SAMPLE_MODEL} (snapshot {sample.snapshot_id}, tags run_test, "
                "jira), runtimes batch-dev and online-dev.\nIts deploy process runs as soon as "
                "the server starts: test, DMN, then a review ticket waits for you.")
    else:
        line = "The registry already has models: nothing registered."
    click.echo(NEXT_STEPS.format(base=base_url.rstrip("/"), sample_line=line,
                                 model=SAMPLE_MODEL, tag=SAMPLE_SERVICE_TAG))


def _count(result) -> str:
    return f"changed files get a new version; {len(result.filtered)} definitions unchanged"
