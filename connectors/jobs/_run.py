"""One job's lifetime: its row, scratch folder, log, model processes, lease and time limit.

Every job type runs inside :func:`run_job`, which guarantees the same ending: the row is
finished (succeeded, failed with a recorded reason and the log's tail, or cancelled on
request), the execution key and lease are released, and every model process is killed and
every Dask task cancelled — whatever the model did.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.packages import ModelEnvironment, ModelEnvironments
from connectors.registry import (
    JobCancelled,
    JobRecord,
    JobStore,
    LeaseKeeper,
    ModelRecord,
    ModelRegistry,
    SnapshotRecord,
)
from engine.errors import MlcError

from ._cancel import CancelWatch
from ._process import ModelProcess, ProcessPool, TimeLimitExceeded
from .model_code import resolve_model_dir

log = logging.getLogger(__name__)

LOG_TAIL_CHARS = 8000


class Deadline:
    """A job-wide time limit; ``seconds`` of 0 or None means none."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds or 0
        self._end = time.monotonic() + self.seconds if self.seconds else None

    def remaining(self, what: str | None = None) -> float | None:
        if self._end is None:
            return None
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeLimitExceeded(self.exceeded(what))
        return left

    def exceeded(self, what: str | None = None) -> str:
        """The reason a job past its limit fails with, naming the step it was on if known."""
        reason = f"the job exceeded its job_timeout of {self.seconds:g}s"
        return f"{reason} (while {what})" if what else reason

    def limit(self, per_step: float | None = None,
              what: str | None = None) -> float | None:
        """The time one step may take: its own limit (0 = none) capped by the job's."""
        left = self.remaining(what)
        step = per_step or None
        if left is None:
            return step
        return left if step is None else min(left, step)


@dataclass
class JobRun:
    """What a job body gets to work with."""

    job: JobRecord
    snapshot: SnapshotRecord
    model: ModelRecord
    scratch: Path
    store: JobStore
    pool: ProcessPool
    deadline: Deadline
    model_cache: Path | None = None
    environments: ModelEnvironments | None = None
    environment: ModelEnvironment | None = None  # the model's own, once resolved
    # An uploaded artifact the job runs with instead of the snapshot's: (id, its local folder)
    artifact: tuple[str, Callable[[], str]] | None = None
    _processes: list[ModelProcess] = field(default_factory=list)
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _lease: LeaseKeeper | None = None
    _watch: CancelWatch | None = None

    @property
    def log_path(self) -> Path:
        return self.scratch / "job.log"

    @property
    def label_column(self) -> str:
        return str(self.snapshot.metadata.get("label_column") or "label")

    @property
    def artifact_dir(self) -> str | None:
        if self.artifact is not None:
            return self.artifact[1]()
        asset = self.snapshot.asset("ARTIFACT")
        return asset.uri if asset else None

    @property
    def build(self) -> str:
        """Which build of the snapshot runs: the uploaded artifact named, else its newest
        trained artifact, or the bare source."""
        if self.artifact is not None:
            return self.artifact[0]
        asset = self.snapshot.asset("ARTIFACT")
        return asset.id if asset else "source"

    @property
    def cancelled(self) -> bool:
        """A cancel was asked for (and the job's work has been told to stop)."""
        return self._watch is not None and self._watch.fired

    def start(self, execution_key: str | None) -> None:
        """Take the execution key (refused when redundant), start renewing the lease and
        watching the row for a cancel request."""
        self.store.start(self.job.id, execution_key)
        self._lease = LeaseKeeper(self.store, self.job.id).__enter__()
        self._watch = CancelWatch(self.store, self.job.id, self.stop)

    def on_stop(self, stopper: Callable[[], None]) -> None:
        """Also call ``stopper`` when the job must stop (a failure, a time limit, a cancel):
        an executor uses it to cancel work that runs elsewhere."""
        self._stoppers.append(stopper)

    def log_line(self, line: str) -> None:
        """Append a line of the engine's own to the job's log (environment builds)."""
        with open(self.log_path, "a") as fh:
            fh.write(line + "\n")

    def model_dir(self) -> Path:
        return resolve_model_dir(self.snapshot.source, self.model_cache)

    def model_python(self, model_dir: Path) -> str | None:
        """The interpreter of the model's own environment (built or reused now, its progress
        in the job's log), or None when the model runs in the engine's environment."""
        if self.environments is None:
            return None
        if self.environment is None:
            self.environment = self.environments.for_model(
                model_dir, log=self.log_line, timeout=self.deadline.limit())
        return str(self.environment.python) if self.environment else None

    def loaded_processes(self, count: int, artifact_dir: str | None) -> list[ModelProcess]:
        """``count`` model processes with the snapshot's model loaded (``init`` called once),
        running in the model's environment."""
        model_dir = self.model_dir()
        processes = self.pool.acquire(count, python=self.model_python(model_dir))
        self._processes.extend(processes)
        request = {"op": "load", "model_dir": str(model_dir), "artifact_dir": artifact_dir,
                   "log": str(self.log_path),
                   "threads": max(1, (os.cpu_count() or 1) // count) if count > 1 else None}
        for process in processes:  # send every load first so the processes load in parallel
            process.send(request)
        for process in processes:  # no limit of its own: running out of time is the job's
            try:
                process.receive(self.deadline.limit(what="loading the model"),
                                "loading the model")
            except TimeLimitExceeded:
                raise TimeLimitExceeded(self.deadline.exceeded("loading the model")) from None
        return processes

    def stop(self) -> None:
        """Stop every piece of the job's work now (idempotent, callable from any thread)."""
        for process in list(self._processes):
            process.kill()
        for stopper in list(self._stoppers):
            try:
                stopper()
            except Exception:  # noqa: BLE001 - the other pieces must still be stopped
                log.exception("job %s: stopping its work failed", self.job.id)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self.pool.release(self._processes)
        self._processes = []
        if self._lease is not None:
            self._lease.__exit__(None, None, None)

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                fh.seek(max(0, size - LOG_TAIL_CHARS))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""


Body = Callable[[JobRun], tuple[dict[str, Any], dict[str, Any]]]

LEASE_POLL_SECONDS = 1.0
FINISHED_STATES = ("succeeded", "failed", "cancelled")


def await_prior_attempt(store: JobStore, prior: JobRecord,
                        poll: float = LEASE_POLL_SECONDS) -> JobRecord:
    """The earlier attempt once it has finished, or once its lease has lapsed (unfinished).

    The caller's own time limit (the handler's) bounds the wait; the caller keeps its task
    lock meanwhile (``keep_lock``).
    """
    if prior.state not in FINISHED_STATES and store.holder_is_alive(prior.id):
        log.info("job %s of this task holds a live lease; waiting for it", prior.id)
    while prior.state not in FINISHED_STATES and store.holder_is_alive(prior.id):
        time.sleep(poll)
        prior = store.get(prior.id)
    return prior


def run_job(store: JobStore, registry: ModelRegistry, pool: ProcessPool, *, job_type: str,
            snapshot_id: str, inputs: dict[str, Any], body: Body, job_timeout: float = 0,
            idempotency_key: str | None = None, model_cache: Path | None = None,
            environments: ModelEnvironments | None = None,
            artifact: tuple[str, Callable[[], str]] | None = None) -> JobRecord:
    """Create the job row, run ``body`` and record the outcome; never raises for job failures.

    ``body`` returns ``(outputs, metrics)``. A retry of the same task (same idempotency key)
    returns the recorded outcome instead of running again, unless the earlier attempt died.
    While the earlier attempt's lease runs (its worker may be alive, or just killed: only the
    lease tells), the retry waits for it to finish or to lapse rather than fail: a task lock
    shorter than the job lease must not turn a killed worker into an incident.

    Raises:
        NotFoundError: the snapshot does not exist (no job row can name it).
    """
    snapshot = registry.get_snapshot(snapshot_id)
    model = registry.get_model(snapshot.model_id)
    if idempotency_key:
        prior = store.by_idempotency_key(idempotency_key)
        if prior is not None:
            prior = await_prior_attempt(store, prior)
            if prior.state in FINISHED_STATES:
                return prior
            store.release_idempotency_key(prior.id)
    job = store.create(job_type, snapshot_id=snapshot.id, model_id=model.id, inputs=inputs,
                       idempotency_key=idempotency_key)
    with tempfile.TemporaryDirectory(prefix=f"mlc-job-{job.id[:8]}-") as scratch:
        run = JobRun(job=job, snapshot=snapshot, model=model, scratch=Path(scratch),
                     store=store, pool=pool, deadline=Deadline(job_timeout),
                     model_cache=model_cache, environments=environments, artifact=artifact)
        run.log_path.touch()
        try:
            outputs, metrics = body(run)
        except Exception as exc:  # noqa: BLE001 - a job never takes the worker down
            run.close()
            if isinstance(exc, JobCancelled) or run.cancelled:
                return store.finish(job.id, succeeded=False, cancelled=True,
                                    reason="cancelled on request", log_tail=run.log_tail())
            if isinstance(exc, MlcError):
                reason = exc.message
            else:
                log.exception("job %s failed unexpectedly", job.id)
                reason = f"{type(exc).__name__}: {exc}"
            return store.finish(job.id, succeeded=False, reason=reason,
                                outputs=_with_environment(store, run, None),
                                log_tail=run.log_tail())
        run.close()
        return store.finish(job.id, succeeded=True, outputs=_with_environment(store, run, outputs),
                            metrics=metrics, log_tail=run.log_tail())


def _with_environment(store: JobStore, run: JobRun,
                      outputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """The job's outputs plus the model environment it ran in (None: leave them as stored)."""
    if run.environment is None:
        return outputs
    base = outputs if outputs is not None else store.get(run.job.id).outputs
    return {**base, "environment": run.environment.describe()}
