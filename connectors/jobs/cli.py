"""``mlc jobs ...``: run scoring and metrics jobs (here or on a runtime's engine), list, show
and cancel them.

Collaborators come from ``click.get_current_context().obj`` (``db``, ``settings``,
``engine``). Scoring shows a progress bar on stderr (tqdm) unless ``--json`` or
``--no-progress``; a failed job exits non-zero with its recorded reason.
"""

from __future__ import annotations

import sys

import click

from connectors.cli_context import context_service, echo_json
from connectors.registry import JOB_STATES, JobRecord
from connectors.registry.cli import registry_from_context

from .formats import FORMATS
from .scoring import ScoringOptions
from .service import JobService


def _service() -> JobService:
    return context_service(lambda s: s.jobs, lambda obj: JobService.from_settings(
        obj.db, obj.settings, registry=registry_from_context()))


def _report(job: JobRecord, as_json: bool) -> None:
    if as_json:
        echo_json(job.to_dict())
    if not job.succeeded:
        raise click.ClickException(f"{job.job_type} job {job.id} failed: {job.reason}")
    if not as_json:
        click.echo(job.id)


@click.group("jobs")
def jobs() -> None:
    """Training, metrics and scoring jobs."""


@jobs.command("run-scoring")
@click.argument("snapshot_id")
@click.argument("source")
@click.argument("destination")
@click.option("--parallelism", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--job-timeout", type=click.FloatRange(min=0), default=0,
              help="Seconds for the whole job; 0 = none.")
@click.option("--file-timeout", type=click.FloatRange(min=0), default=0,
              help="Seconds per input file; 0 = none.")
@click.option("--input-format", type=click.Choice(FORMATS))
@click.option("--output-format", type=click.Choice(FORMATS),
              help="Default: the format of each input.")
@click.option("--overwrite", is_flag=True,
              help="Replace existing outputs (otherwise the job refuses to start).")
@click.option("--runtime", help="Run on this runtime's engine (id or name; a dask runtime "
              "submits one task per file to its cluster). Default: this machine.")
@click.option("--no-progress", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def run_scoring(snapshot_id: str, source: str, destination: str, parallelism: int,
                job_timeout: float, file_timeout: float, input_format: str | None,
                output_format: str | None, overwrite: bool, runtime: str | None,
                no_progress: bool, as_json: bool) -> None:
    """Score every data file of SOURCE into DESTINATION (same names)."""
    from tqdm import tqdm

    options = ScoringOptions(parallelism, job_timeout, file_timeout, input_format,
                             output_format, overwrite)
    bar = None if (as_json or no_progress) else tqdm(unit="file", desc="scoring",
                                                     file=sys.stderr)

    def progress(done: int, total: int, rows: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix(rows=rows, refresh=False)
            bar.refresh()

    service = _service()
    try:
        job = service.score(snapshot_id, source, destination, options, progress=progress,
                            runtime=runtime)
    finally:
        if bar is not None:
            bar.close()
        service.close()
    _report(job, as_json)


@jobs.command("run-metrics")
@click.argument("snapshot_id")
@click.option("--input", "input_uri", help="Labelled data (default: the TEST_DATA asset).")
@click.option("--timeout", type=click.FloatRange(min=0), default=0, help="0 = none.")
@click.option("--runtime", help="Run on this runtime's engine (id or name). Default: here.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def run_metrics(snapshot_id: str, input_uri: str | None, timeout: float,
                runtime: str | None, as_json: bool) -> None:
    """Test a snapshot on labelled data and store the metrics."""
    service = _service()
    try:
        job = service.run_metrics(snapshot_id, input_uri=input_uri, timeout=timeout,
                                  runtime=runtime)
    finally:
        service.close()
    if not as_json and job.succeeded:
        for name, value in job.metrics.items():
            click.echo(f"{name:<17} {value}", err=True)
    _report(job, as_json)


@jobs.command("list")
@click.option("--type", "job_type", type=click.Choice(["training", "metrics", "scoring"]))
@click.option("--snapshot", "snapshot_id")
@click.option("--state", type=click.Choice(JOB_STATES))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_jobs(job_type: str | None, snapshot_id: str | None, state: str | None,
              limit: int, as_json: bool) -> None:
    """List jobs, newest first."""
    found = _service().list(job_type=job_type, snapshot_id=snapshot_id, state=state,
                            limit=limit)
    if as_json:
        echo_json([j.to_dict() for j in found])
        return
    for j in found:
        click.echo(f"{j.id}  {j.job_type:<9} {j.state:<10} {j.created_at:%Y-%m-%d %H:%M:%S}  "
                   f"{j.reason or ''}")


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_job(job_id: str, as_json: bool) -> None:
    """Show a job: inputs, outputs, metrics, reason and log tail."""
    job = _service().get(job_id)
    if as_json:
        echo_json(job.to_dict())
        return
    for name, value in job.to_dict().items():
        if name != "log_tail":
            click.echo(f"{name:<12} {value}")
    if job.log_tail:
        click.echo("log tail:\n" + job.log_tail)


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cancel_job(job_id: str, as_json: bool) -> None:
    """Cancel a running job: the node running it stops its model processes or Dask tasks
    within a few seconds and records it as cancelled."""
    job = _service().cancel(job_id)
    echo_json(job.to_dict()) if as_json else click.echo(f"{job.id} {job.state}")
