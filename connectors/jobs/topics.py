"""Topic handlers for the model registry and jobs, and :func:`register_model_handlers`.

Variables each topic reads (``in``) and writes (``out``). ``SNAPSHOT_ID`` may be replaced by
``MODEL_ID`` wherever it is read: the model's latest deployed snapshot, or its newest one
when none is deployed; an unknown id raises ``BpmnError("SNAPSHOT_NOT_FOUND")``.

``model.get-snapshot``
    in: SNAPSHOT_ID. out: MODEL_ID, MODEL_NAME, METHODOLOGY, MODEL_OWNER, SNAPSHOT_ID,
    SNAPSHOT_VERSION, SOURCE, TAGS (list), TAG_TRAIN / TAG_RUN_TEST / TAG_JIRA /
    TAG_SERVICENOW (always set) and TAG_<TAG> for every other tag (booleans for gateways),
    STAGE, SERVICE_TAG, METADATA (dict), DMN_DECISION_KEY, MONITORS (list), EXPIRATION_DATE
    (ISO or null), SCHEDULES (list), ASSETS (list of {role, uri, format, version}),
    HAS_TEST_DATA, TEST_DATA_FILE, SNAPSHOT_CHOSEN_BY (``SNAPSHOT_ID``, ``deployed`` or
    ``newest, none deployed``).
``model.find-deployment``
    in: TAG, MODEL_STAGE?. out: DEPLOYED_MODEL_ID, SNAPSHOT_ID, MODEL_ID, MODEL_NAME,
    SNAPSHOT_VERSION, STAGE, SERVICE_TAG, DEPLOYMENT_RUNTIME_ID, ARTIFACT_ID (the uploaded
    artifact it runs with, or null) of the newest batch deployment still deployed.
    Error: NO_DEPLOYMENT.
``model.resolve-data``
    in: SNAPSHOT_ID, INPUT_FILE? (or INPUT_FOLDER), OUTPUT_FILE? (or OUTPUT_FOLDER). out: INPUT_FILE (given, else the TEST_DATA
    asset), OUTPUT_FILE (given, else a new folder ``outputs/<snapshot>/<task>`` under the first
    data root). Errors: MISSING_TEST_DATA (no input and no TEST_DATA asset), INVALID_DATA_PATH
    (a path outside MLC_DATA_ROOTS or an unsupported scheme).
``job.training``
    in: SNAPSHOT_ID, TRAINING_FILE? (else the TRAINING_DATA asset), TRAINING_PARAMS? (dict),
    JOB_TIMEOUT? (s, 0 = none). out: JOB_ID, JOB_STATE, ARTIFACT_URI, TRAINING_METRICS.
``job.metrics``
    in: SNAPSHOT_ID, INPUT_FILE? (else the TEST_DATA asset), INPUT_FORMAT?, JOB_TIMEOUT?,
    RUNTIME_ID? (its engine runs the job: this node's pool, or a Dask cluster; none: here).
    OUTPUT_FILE? (the results are also written there as JSON: ``results.json`` inside it when
    it names a folder; an existing results file only with OVERWRITE? true, else JOB_FAILED).
    out: JOB_ID, JOB_STATE, TEST_RESULTS (dict: accuracy, precision,
    recall, f1, roc_auc, confusion_matrix | rmse, mae, r2), RESULTS_FILE (when written).
    Error: MISSING_TEST_DATA.
``job.scoring``
    in: SNAPSHOT_ID, INPUT_FILE, OUTPUT_FILE, PARALLELISM? (1), JOB_TIMEOUT? (0),
    FILE_TIMEOUT? (0), INPUT_FORMAT?, OUTPUT_FORMAT?, OVERWRITE? (false), RUNTIME_ID? (as
    for ``job.metrics``; ``runtime.match`` sets it), ARTIFACT_ID? (an uploaded artifact to
    score with instead of the snapshot's own). out: JOB_ID, JOB_STATE, OUTPUT_FILE,
    SCORED_FILES, SCORED_ROWS. An unknown RUNTIME_ID raises ``BpmnError("NO_RUNTIME")``.
``model.run-tests``
    in: SNAPSHOT_ID, JOB_TIMEOUT? (0: the default of 600 s). Runs the model folder's
    ``test_model.py`` with pytest in the model's environment; the report is stored on the
    snapshot (``model_tests``). out: MODEL_TESTS (``passed``, or ``none`` when the folder has
    no test_model.py), MODEL_TEST_REPORT (the report: status, passed, failed, errors, skipped,
    duration, failures with their output, summary), JOB_ID. Error: MODEL_TESTS_FAILED (with
    MODEL_TESTS ``failed`` / ``error``, MODEL_TEST_REPORT, JOB_ID, JOB_ERROR) when a test
    fails or the tests cannot run (the environment did not build, a collection error).
``monitors.add-missing``
    in: SNAPSHOT_ID, REQUIRED_MONITORS? (list, e.g. from the monitors-by-methodology DMN;
    else the built-in list of the model's methodology). out: MONITORS (all, after adding), MONITORS_ADDED.
``runtime.match``
    in: RUNTIME_STAGE? or STAGE? (else the snapshot's stage), SERVICE_TAG? (else the
    snapshot's), SNAPSHOT_ID. out: RUNTIME_ID (most recent match), RUNTIME_NAME, RUNTIME_IDS,
    DEPLOYMENT_MODE (batch | online). Error: NO_RUNTIME.
``model.deploy``
    in: SNAPSHOT_ID, RUNTIME_ID, ARTIFACT_ID? (else the newest prod artifact on a PROD
    runtime, the newest test artifact elsewhere, if the model has uploaded any).
    out: DEPLOYED_MODEL_ID, DEPLOYMENT_MODE, RETIRED_DEPLOYMENT_IDS, ARTIFACT_ID,
    PREVIOUS_SNAPSHOT_ID (when a deployment was retired). Error: ARTIFACT_REFUSED (a test
    artifact for a PROD runtime, or a model with artifacts but no prod one).
``model.update-expiration``
    in: SNAPSHOT_ID, EXPIRATION_DATE? (ISO date / date-time; default one year from now).
    out: EXPIRATION_DATE (ISO). Error: INVALID_EXPIRATION_DATE.
``model.copy-schedules``
    in: SNAPSHOT_ID, PREVIOUS_SNAPSHOT_ID? (else the model's most recent other deployed
    snapshot). out: SCHEDULES, SCHEDULES_COPIED, PREVIOUS_SNAPSHOT_ID.

Every job topic raises ``BpmnError("JOB_FAILED", reason, {"JOB_ID", "JOB_ERROR"})`` when the
job fails; the job row keeps the reason and the log tail. Retries of one task reuse its job
(``idempotency_key``): a finished job is not run twice.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.packages import has_tests
from connectors.registry import JobRecord, ModelRegistry
from connectors.registry.topics import HANDLERS as REGISTRY_HANDLERS
from connectors.registry.topics import snapshot_for
from engine.errors import BpmnError, ConfigurationError, MlcError, NotFoundError
from engine.handlers import HandlerRegistry, TaskContext

from .locations import LocalLocation, Location
from .model_code import resolve_model_dir
from .scoring import ScoringOptions
from .service import JobService

LOCK_SECONDS = 300.0  # external-task lock a job keeps renewing while it runs


@contextmanager
def keep_lock(ctx: TaskContext, seconds: float = LOCK_SECONDS) -> Iterator[None]:
    """Extend the task's lock in the background while a long job runs."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            try:
                ctx.extend_lock(seconds)
            except Exception:  # noqa: BLE001 - the engine reports a lost lock itself
                return

    thread = threading.Thread(target=renew, daemon=True, name=f"lock-{ctx.task_id}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _job_outcome(job: JobRecord) -> dict[str, Any]:
    if not job.succeeded:
        raise BpmnError("JOB_FAILED", f"{job.job_type} job {job.id} failed: {job.reason}",
                        {"JOB_ID": job.id, "JOB_ERROR": job.reason})
    return {"JOB_ID": job.id, "JOB_STATE": job.state}


def _results_failed(job: JobRecord, reason: str) -> None:
    raise BpmnError("JOB_FAILED", f"{job.job_type} job {job.id}: {reason}",
                    {"JOB_ID": job.id, "JOB_ERROR": reason})


def _number(ctx: TaskContext, name: str, default: float) -> float:
    value = ctx.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BpmnError("INVALID_VARIABLE", f"{name} must be a number, not {value!r}") from None


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true",
                                                                                "yes")


class ModelTopics:
    """The job topics bound to their services."""

    def __init__(self, registry: ModelRegistry, jobs: JobService) -> None:
        self.registry, self.jobs = registry, jobs

    def _runtime(self, ctx: TaskContext) -> str | None:
        """The id of the runtime named by RUNTIME_ID, if any; an unknown one is a modelling
        error that the process can catch, not something a retry fixes."""
        named = ctx.get("RUNTIME_ID")
        if not named:
            return None
        try:
            return self.registry.get_runtime(str(named)).id
        except NotFoundError as exc:
            raise BpmnError("NO_RUNTIME", exc.message) from exc

    def resolve_data(self, ctx: TaskContext) -> dict[str, Any]:
        snapshot = snapshot_for(self.registry, ctx)
        input_file = ctx.get("INPUT_FILE") or ctx.get("INPUT_FOLDER")
        if not input_file:
            asset = snapshot.asset("TEST_DATA")
            if asset is None:
                raise BpmnError("MISSING_TEST_DATA",
                                f"snapshot {snapshot.id} has no TEST_DATA asset and no "
                                f"INPUT_FILE was given")
            input_file = asset.uri
        output_file = ctx.get("OUTPUT_FILE") or ctx.get("OUTPUT_FOLDER")
        if not output_file:
            roots = self.jobs.data.data_roots
            if not roots:
                raise ConfigurationError("MLC_DATA_ROOTS is empty: no place for an output")
            task = hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:12]
            output_file = str(Path(roots[0]) / "outputs" / snapshot.id / task)
        for path in (input_file, output_file):
            try:
                self.jobs.data.resolve(str(path))
            except MlcError as exc:
                raise BpmnError("INVALID_DATA_PATH", exc.message) from exc
        return {"INPUT_FILE": str(input_file), "OUTPUT_FILE": str(output_file)}

    def training(self, ctx: TaskContext) -> dict[str, Any]:
        snapshot = snapshot_for(self.registry, ctx)
        params = ctx.get("TRAINING_PARAMS", {})
        if not isinstance(params, dict):
            raise BpmnError("INVALID_VARIABLE", "TRAINING_PARAMS must be an object")
        with keep_lock(ctx):
            job = self.jobs.train(snapshot.id, input_uri=ctx.get("TRAINING_FILE"),
                                  params=params, timeout=_number(ctx, "JOB_TIMEOUT", 0),
                                  idempotency_key=ctx.idempotency_key)
        out = _job_outcome(job)
        out.update({"ARTIFACT_URI": job.outputs.get("artifact_uri"),
                    "TRAINING_METRICS": job.metrics})
        return out

    def metrics(self, ctx: TaskContext) -> dict[str, Any]:
        snapshot = snapshot_for(self.registry, ctx)
        input_file = ctx.get("INPUT_FILE")
        if not input_file and snapshot.asset("TEST_DATA") is None:
            raise BpmnError("MISSING_TEST_DATA",
                            f"snapshot {snapshot.id} has no TEST_DATA asset and no INPUT_FILE")
        with keep_lock(ctx):
            job = self.jobs.run_metrics(snapshot.id, input_uri=input_file,
                                        input_format=ctx.get("INPUT_FORMAT"),
                                        timeout=_number(ctx, "JOB_TIMEOUT", 0),
                                        idempotency_key=ctx.idempotency_key,
                                        runtime=self._runtime(ctx))
        out = _job_outcome(job)
        out["TEST_RESULTS"] = job.metrics
        if ctx.get("OUTPUT_FILE"):
            out["RESULTS_FILE"] = self._write_results(
                str(ctx.get("OUTPUT_FILE")), job, overwrite=_flag(ctx.get("OVERWRITE", False)))
        return out

    def _write_results(self, output: str, job: JobRecord, overwrite: bool = False) -> str:
        """Write the metrics as JSON to ``output`` (``results.json`` inside a folder).

        An existing results file is replaced only with ``OVERWRITE`` or when this job wrote
        it (a retry of the same task), as scoring outputs are; an output that cannot be
        written (an existing file where a folder is meant, no permission) fails the job
        with the reason (``JOB_FAILED``) instead of being retried into an incident.
        """
        data = self.jobs.data
        try:
            location = data.resolve(output)
        except MlcError as exc:
            raise BpmnError("INVALID_DATA_PATH", exc.message) from exc
        if not output.lower().endswith(".json"):
            if isinstance(location, LocalLocation) and location.path.is_file():
                _results_failed(job, f"OUTPUT_FILE {location.uri} is an existing file; name a "
                                     "folder or a .json file for the results")
            location = location.child("results.json")
        body = json.dumps({"job_id": job.id, "snapshot_id": job.snapshot_id,
                           "metrics": job.metrics}, indent=2, default=str)
        with tempfile.TemporaryDirectory() as scratch:
            if not overwrite and data.exists(location) and not self._written_by(
                    job, location, Path(scratch)):
                _results_failed(job, f"output already exists: {location.uri}; set OVERWRITE "
                                     "to replace it")
            try:
                target = data.local_target(location, Path(scratch))
                target.write_text(body)
                data.store(target, location)
            except (FileExistsError, NotADirectoryError, IsADirectoryError,
                    PermissionError) as exc:
                _results_failed(job, f"cannot write {location.uri}: {exc.strerror}")
        return location.uri

    def _written_by(self, job: JobRecord, location: Location, scratch: Path) -> bool:
        try:
            written = json.loads(self.jobs.data.fetch(location, scratch).read_text())
            return isinstance(written, dict) and written.get("job_id") == job.id
        except (OSError, ValueError, AttributeError):
            return False

    def scoring(self, ctx: TaskContext) -> dict[str, Any]:
        snapshot = snapshot_for(self.registry, ctx)
        options = ScoringOptions(
            parallelism=int(_number(ctx, "PARALLELISM", 1)),
            job_timeout=_number(ctx, "JOB_TIMEOUT", 0),
            file_timeout=_number(ctx, "FILE_TIMEOUT", 0),
            input_format=ctx.get("INPUT_FORMAT"), output_format=ctx.get("OUTPUT_FORMAT"),
            overwrite=_flag(ctx.get("OVERWRITE", False)))
        with keep_lock(ctx):
            job = self.jobs.score(snapshot.id, str(ctx.require("INPUT_FILE")),
                                  str(ctx.require("OUTPUT_FILE")), options,
                                  idempotency_key=ctx.idempotency_key,
                                  runtime=self._runtime(ctx),
                                  artifact_id=ctx.get("ARTIFACT_ID") or None)
        out = _job_outcome(job)
        out.update({"OUTPUT_FILE": job.outputs.get("destination"),
                    "SCORED_FILES": job.outputs.get("files_done", 0),
                    "SCORED_ROWS": job.outputs.get("rows", 0)})
        return out

    def model_tests(self, ctx: TaskContext) -> dict[str, Any]:
        snapshot = snapshot_for(self.registry, ctx)
        try:
            model_dir = resolve_model_dir(snapshot.source, self.jobs.model_cache)
        except MlcError as exc:
            raise BpmnError("MODEL_TESTS_FAILED", exc.message,
                            {"MODEL_TESTS": "error", "JOB_ERROR": exc.message}) from exc
        if not has_tests(model_dir):
            return {"MODEL_TESTS": "none", "MODEL_TEST_REPORT": None}
        with keep_lock(ctx):
            job = self.jobs.run_model_tests(snapshot.id,
                                            timeout=_number(ctx, "JOB_TIMEOUT", 0),
                                            idempotency_key=ctx.idempotency_key)
        report = job.outputs.get("report")
        if not job.succeeded:
            status = report["status"] if report else "error"
            raise BpmnError("MODEL_TESTS_FAILED", f"tests job {job.id} failed: {job.reason}",
                            {"JOB_ID": job.id, "JOB_ERROR": job.reason, "MODEL_TESTS": status,
                             "MODEL_TEST_REPORT": report})
        return {"JOB_ID": job.id, "MODEL_TESTS": "passed", "MODEL_TEST_REPORT": report}


def register_model_handlers(handlers: HandlerRegistry, registry: ModelRegistry,
                            jobs: JobService, *, job_lock_seconds: float | None = None,
                            replace: bool = False) -> list[str]:
    """Register every registry and job topic; return the topics registered.

    Args:
        handlers: the engine's handler registry.
        registry: the model registry the topics read and update.
        jobs: the job service (shares ``registry``).
        job_lock_seconds: lock timeout for the job topics (they also renew it while running).
        replace: replace handlers already registered for these topics.
    """
    topics = ModelTopics(registry, jobs)
    bound: dict[str, tuple[Callable[[TaskContext], Any], float | None]] = {
        name: ((lambda fn: lambda ctx: fn(registry, ctx))(fn), None)  # noqa: B023 - bound
        for name, fn in REGISTRY_HANDLERS.items()}
    job_timeout = job_lock_seconds or LOCK_SECONDS
    bound.update({
        "model.resolve-data": (topics.resolve_data, None),
        "job.training": (topics.training, job_timeout),
        "job.metrics": (topics.metrics, job_timeout),
        "job.scoring": (topics.scoring, job_timeout),
        "model.run-tests": (topics.model_tests, job_timeout),
    })
    for topic, (fn, timeout) in bound.items():
        handlers.register(topic, fn, timeout=timeout, replace=replace)
    return sorted(bound)
