"""``mlc demo``: all three shipped processes end to end through the REST API of a real
``mlc serve`` on a temporary database, with a compact table of what happened.

:class:`ServedMlc` (one ``mlc serve`` subprocess on a free loopback port) and
:func:`run_scenario` are also what the acceptance tests drive.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .client import MlcClient
from .sample import (
    BATCH_RUNTIME,
    DMN_DIR,
    ONLINE_RUNTIME,
    PROCESSES_DIR,
    ROOT,
    SAMPLE_DECISION,
    SAMPLE_MODEL,
    SAMPLE_ONLINE_TAG,
    SAMPLE_SERVICE_TAG,
    sample_data,
)

BACK_TEST_JIRA = "com.modelop.mlc.definitions.Signals_Run_Back_Test_Jira"
BACK_TEST_SERVICENOW = "com.modelop.mlc.definitions.Signals_Run_Back_Test_ServiceNow"
BATCH_JOB = "com.modelop.mlc.definitions.Signals_DEPLOYED_BATCH_JOB"
SHIPPED = [PROCESSES_DIR / "deploy_with_test_and_jira.bpmn", PROCESSES_DIR / "run_back_test.bpmn",
           PROCESSES_DIR / "run_batch_job.bpmn", DMN_DIR / "classification_approval.dmn",
           DMN_DIR / "monitors_by_methodology.dmn"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServedMlc:
    """``mlc serve`` in a subprocess over ``workdir`` (database, data root, log).

    Args:
        workdir: holds ``mlc.db`` (unless ``database_url``), ``data/`` and ``serve.log``.
        database_url: another database (e.g. a PostgreSQL schema) instead of SQLite.
        env: extra environment (``MLC_TICKETS``, ``MLC_JIRA_URL``, ...).
        workers: embedded worker threads.
    """

    def __init__(self, workdir: Path, *, database_url: str | None = None,
                 env: dict[str, str] | None = None, workers: int = 2,
                 token: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.data_root = self.workdir / "data"
        self.data_root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = token
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
        clean.update({"MLC_DATABASE_URL": database_url or f"sqlite:///{self.workdir / 'mlc.db'}",
                      "MLC_DATA_ROOTS": str(self.data_root), "MLC_TICKETS": "local",
                      "PYTHONPATH": str(ROOT)})
        if token:
            clean["MLC_API_TOKEN"] = token
        clean.update(env or {})
        self.env = clean
        self.log_path = self.workdir / "serve.log"
        self._log = self.log_path.open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from mlc.cli import main; main()", "serve",
             "--port", str(self.port), "--workers", str(workers), "--poll", "0.1",
             "--grace", "5"],
            cwd=self.workdir, env=clean, stdout=self._log, stderr=subprocess.STDOUT)
        self.client = MlcClient(self.base, token)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mlc serve exited: " + self.output()[-3000:])
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still starting up
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("mlc serve did not become healthy: " + self.output()[-3000:])

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()

    def __enter__(self) -> ServedMlc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SampleSetup:
    """What :func:`setup_sample` registered over REST."""

    model_id: str
    batch_runtime_id: str
    online_runtime_id: str
    files: dict[str, str] = field(default_factory=dict)

    def snapshot_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"source": "sample:classifier", "tags": ["run_test", "jira"], "stage": "DEV",
                "service_tag": SAMPLE_SERVICE_TAG, "dmn_decision_key": SAMPLE_DECISION,
                "metadata": {"framework": "scikit-learn"},
                "assets": [{"role": "TEST_DATA", "uri": self.files["test"], "format": "csv"},
                           {"role": "TRAINING_DATA", "uri": self.files["train"],
                            "format": "csv"}]}
        body.update(overrides)
        return body


def drifted_copy(test_csv: str | Path, target: str | Path) -> str:
    """The sample test data with its labels shuffled: a back test on it fails the DMN."""
    import pandas as pd

    frame = pd.read_csv(test_csv)
    frame["label"] = frame["label"].sample(frac=1.0, random_state=1).to_numpy()
    frame.to_csv(target, index=False)
    return str(target)


def setup_sample(client: MlcClient, data_root: Path, *, deploy: bool = True) -> SampleSetup:
    """Deploy the shipped files and register the sample model and two runtimes, over REST."""
    if deploy:
        client.deploy(SHIPPED, "mlc-shipped")
    paths = sample_data(data_root)
    files = {"test": str(paths["test"]), "train": str(paths["train"]),
             "drifted": drifted_copy(paths["test"], paths["test"].parent / "drifted.csv")}
    model = client.create_model(SAMPLE_MODEL, "classification", owner="data-science")
    batch = client.create_runtime(BATCH_RUNTIME, "DEV", service_tags=[SAMPLE_SERVICE_TAG])
    online = client.create_runtime(ONLINE_RUNTIME, "DEV", service_tags=[SAMPLE_ONLINE_TAG],
                                   endpoints=["http://127.0.0.1:8080/api/predict"])
    return SampleSetup(model["id"], batch["id"], online["id"], files)


def run_scenario(client: MlcClient, setup: SampleSetup, data_root: Path,
                 echo: Callable[[str], object] = lambda line: None) -> list[dict[str, Any]]:
    """Snapshot -> test -> review approved -> monitors -> deployed; back test pass and fail;
    batch job scored. Returns one row per step (see :func:`format_table`)."""
    rows: list[dict[str, Any]] = []

    echo("1. snapshot of the sample classifier (tags run_test, jira): test, DMN, review ticket")
    snapshot = client.create_snapshot(setup.model_id, **setup.snapshot_body())
    instance = client.started_by_snapshot(snapshot["id"])
    waiting = client.wait_at(instance["id"], "Event_review_resolved")
    review = waiting["variables"]["REVIEW_TICKET"]
    echo(f"   review ticket {review} is open; approving it with an Expiration Date")
    client.transition(review, "Done", {"Expiration Date": "2027-06-30"}, system="local")
    done = client.wait_ended(instance["id"])
    stored = client.snapshot(snapshot["id"])
    [deployment] = client.deployed_models(snapshot_id=snapshot["id"])
    [job] = client.jobs(snapshot_id=snapshot["id"])
    rows.append(_row("deploy_with_test_and_jira", done, client, review, job["id"],
                     f"{deployment['mode']} on {deployment['runtime_name']}, "
                     f"{len(stored['monitors'])} monitors, expires "
                     f"{stored['expiration_date'][:10]}; {_metrics(stored['test_results'])}"))

    echo("2. back test (Jira) of the deployed snapshot on its TEST_DATA: passes, notifies")
    [passed_id] = client.signal(BACK_TEST_JIRA, {"MODEL_ID": setup.model_id})["started"]
    passed = client.wait_ended(passed_id)
    notes = client.notifications(instance_id=passed_id)
    rows.append(_row("run_back_test (Jira)", passed, client, None,
                     passed["variables"].get("JOB_ID"),
                     f"{_metrics(passed['variables'].get('TEST_RESULTS'))}; "
                     f"{'notification sent' if notes else 'no notification'}",
                     file=passed["variables"].get("RESULTS_FILE")))

    echo("3. back test (ServiceNow) on drifted data: fails the DMN, ticket opened")
    out = data_root / "backtests" / "drifted-results.json"
    [failed_id] = client.signal(BACK_TEST_SERVICENOW, {
        "MODEL_ID": setup.model_id, "INPUT_FILE": setup.files["drifted"],
        "OUTPUT_FILE": str(out)})["started"]
    failed = client.wait_ended(failed_id)
    rows.append(_row("run_back_test (ServiceNow)", failed, client,
                     failed["variables"].get("FAILURE_TICKET"),
                     failed["variables"].get("JOB_ID"), str(_first_reason(failed)),
                     file=failed["variables"].get("RESULTS_FILE")))

    echo("4. batch job for service tag sample-classifier: scores the test data")
    scored_dir = data_root / "scored"
    [batch_id] = client.signal(BATCH_JOB, {
        "TAG": SAMPLE_SERVICE_TAG, "MODEL_STAGE": "DEV", "INPUT_FILE": setup.files["test"],
        "OUTPUT_FILE": str(scored_dir), "PARALLELISM": 2})["started"]
    batch = client.wait_ended(batch_id)
    rows.append(_row("run_batch_job", batch, client, None, batch["variables"].get("JOB_ID"),
                     f"{batch['variables'].get('SCORED_ROWS')} rows scored",
                     file=batch["variables"].get("OUTPUT_FILE")))
    return rows


def _metrics(results: dict[str, Any] | None) -> str:
    """``AUC 0.912 / F1 0.85``: the two metrics the DMN judges, rounded as people read them."""
    results = results or {}
    shown = [f"{label} {results[name]:.3g}" for label, name in (("AUC", "roc_auc"), ("F1", "f1"))
             if isinstance(results.get(name), (int, float))]
    return " / ".join(shown) or "no metrics"


def _first_reason(instance: dict[str, Any]) -> Any:
    result = instance["variables"].get("DECISION_RESULT") or [{}]
    return result[0].get("reason", instance.get("outcome"))


def _row(process: str, instance: dict[str, Any], client: MlcClient, ticket: str | None,
         job_id: str | None, result: str, file: str | None = None) -> dict[str, Any]:
    ticket_cell = "-"
    if ticket:
        ticket_cell = f"{ticket} {client.ticket(ticket)['status']}"
    return {"process": process, "instance": instance["id"][:8], "status": instance["status"],
            "outcome": instance.get("outcome") or "-", "ticket": ticket_cell,
            "job": (job_id or "-")[:8], "result": result, "file": file}


COLUMNS = ("process", "instance", "status", "outcome", "ticket", "job")
WIDTH = 100


def format_table(rows: list[dict[str, Any]], *, files: bool = False) -> str:
    """One line per process (id, status, outcome, ticket, job: fits 100 columns), its result
    on the line below, and with ``files`` where it wrote its output."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    for r in rows:
        lines.append("  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS).rstrip())
        lines += textwrap.wrap(r["result"], WIDTH, initial_indent="  -> ",
                               subsequent_indent="     ")
        if files and r.get("file"):
            lines.append(f"     file: {r['file']}")
    return "\n".join(lines)


@click.command()
@click.option("--keep", is_flag=True, help="Keep the temporary folder (database, data, log).")
def demo(keep: bool) -> None:
    """Drive all three processes end to end through the REST API of a real server on a
    temporary database, and print what happened."""
    workdir = Path(tempfile.mkdtemp(prefix="mlc-demo-"))
    started = time.monotonic()
    try:
        click.echo("starting mlc serve on a temporary database"
                   + (f" in {workdir}" if keep else "") + " ...")
        with ServedMlc(workdir) as served:
            click.echo(f"serving on {served.base}; deploying processes/ and dmn/, "
                       "registering the sample model and two runtimes")
            setup = setup_sample(served.client, served.data_root)
            try:
                rows = run_scenario(served.client, setup, served.data_root, echo=click.echo)
            except Exception as exc:
                click.echo(f"error: {exc}", err=True)
                click.echo(served.output()[-4000:], err=True)
                sys.exit(1)
        click.echo("")
        click.echo(format_table(rows, files=keep))
        click.echo(f"\ndone in {time.monotonic() - started:.0f}s; "
                   + (f"database, data and server log kept in {workdir}" if keep else
                      "the temporary database and files are deleted (--keep keeps them)"))
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
