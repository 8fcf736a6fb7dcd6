"""The job service: training, metrics and batch scoring for registry snapshots.

Framework-free on purpose: topic handlers, the CLI and REST routes are thin calls into
:class:`JobService`. Every method returns the recorded :class:`~connectors.registry.JobRecord`;
a job that fails is *recorded* as failed with its reason and log tail, it does not raise.

Metrics and scoring jobs may name a *runtime*: its engine decides where the model code runs
(``local``: this node's process pool; ``dask``: the runtime's Dask cluster). Training always
runs on this node.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connectors.packages import ModelEnvironments
from connectors.packages.artifacts import ArtifactService
from connectors.registry import JobRecord, JobStore, ModelRegistry, RuntimeRecord
from engine.db import Database
from engine.errors import ConfigurationError

from ._executor import JobExecutor, LocalExecutor
from ._model_tests import model_tests_body
from ._process import ProcessPool
from ._run import Body, run_job
from ._training import metrics_body, training_body
from .locations import DataStore
from .scoring import ProgressCallback, ScoringOptions, scoring_body


class JobService:
    """Runs jobs in model subprocesses and records them.

    Args:
        registry: where snapshots, assets and test results live.
        store: job rows.
        data: local (confined) and S3 file access.
        artifact_root: where training writes artifact folders (default: ``artifacts`` under
            the first data root, else ``var/artifacts``).
        pool: model processes; pass ``ProcessPool(spares=n)`` in long-lived workers.
        pool_factory: builds the pool on first use when ``pool`` is not given, so a service
            that never runs a job never starts a process (default ``ProcessPool``).
        model_cache: where git model sources are checked out.
        environments: the per-model environments of models with ``requirements.model``
            (default: the cache under ``var/model-envs``).
        artifacts: uploaded artifacts, which a scoring job of a deployment may name.
    """

    def __init__(self, registry: ModelRegistry, store: JobStore, data: DataStore, *,
                 artifact_root: Path | None = None, pool: ProcessPool | None = None,
                 pool_factory: Callable[[], ProcessPool] | None = None,
                 model_cache: Path | None = None,
                 environments: ModelEnvironments | None = None,
                 artifacts: ArtifactService | None = None) -> None:
        self.registry = registry
        self.store = store
        self.data = data
        roots = data.data_roots
        self.artifact_root = Path(artifact_root or (Path(roots[0]) / "artifacts" if roots
                                                    else Path("var/artifacts"))).resolve()
        self._pool = pool
        self._pool_factory = pool_factory or ProcessPool
        self._pool_lock = threading.Lock()
        self.model_cache = model_cache
        self.environments = environments or ModelEnvironments()
        self.artifacts = artifacts

    @property
    def pool(self) -> ProcessPool:
        """The model-process pool, started on first use (spares start only then)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = self._pool_factory()
            return self._pool

    @classmethod
    def from_settings(cls, db: Database, settings: Any, *,
                      registry: ModelRegistry | None = None,
                      spares: int = 0, s3_endpoint_url: str | None = None) -> JobService:
        """The usual wiring from the project's Database and Settings (data roots, S3 endpoint,
        model cache)."""
        from connectors.registry import SqlModelRegistry

        registry = registry or SqlModelRegistry(db)
        data = DataStore(settings.data_roots,
                         s3_endpoint_url=s3_endpoint_url or settings.s3_endpoint_url)
        return cls(registry, JobStore(db), data,
                   pool_factory=lambda: ProcessPool(spares=spares),
                   model_cache=Path(settings.model_cache),
                   environments=ModelEnvironments.from_settings(settings),
                   artifacts=ArtifactService.from_settings(registry, settings))

    def _run(self, job_type: str, snapshot_id: str, inputs: dict[str, Any], body: Body,
             job_timeout: float, idempotency_key: str | None,
             artifact_id: str | None = None) -> JobRecord:
        artifact: tuple[str, Callable[[], str]] | None = None
        if artifact_id:
            artifacts = self.artifacts
            if artifacts is None:
                raise ConfigurationError("this job service has no artifact store")
            artifact = (artifact_id, lambda: str(artifacts.local_dir(artifact_id)))
        return run_job(self.store, self.registry, self.pool, job_type=job_type,
                       snapshot_id=snapshot_id, inputs=inputs, body=body,
                       job_timeout=job_timeout, idempotency_key=idempotency_key,
                       model_cache=self.model_cache, environments=self.environments,
                       artifact=artifact)

    def executor_for(self, runtime: str | None) -> tuple[JobExecutor, dict[str, Any]]:
        """Where a job on ``runtime`` (id or name; None: this node) runs, and how its inputs
        name that place.

        Raises:
            NotFoundError: no such runtime.
        """
        if not runtime:
            return LocalExecutor(), {}
        record: RuntimeRecord = self.registry.get_runtime(runtime)
        named = {"runtime": {"id": record.id, "name": record.name, "engine": record.engine,
                             "scheduler": record.scheduler}}
        if record.engine == "dask":
            from ._dask_executor import DaskExecutor

            return DaskExecutor(str(record.scheduler)), named
        return LocalExecutor(), named

    def cancel(self, job_id: str) -> JobRecord:
        """Ask whichever node runs the job to stop it (see :meth:`JobStore.request_cancel`)."""
        return self.store.request_cancel(job_id)

    def train(self, snapshot_id: str, *, input_uri: str | None = None,
              input_format: str | None = None, params: dict[str, Any] | None = None,
              timeout: float = 0, idempotency_key: str | None = None) -> JobRecord:
        """Train on ``input_uri`` (or the TRAINING_DATA asset); adds a new ARTIFACT version."""
        inputs = {"input": input_uri, "input_format": input_format, "params": params or {},
                  "timeout": timeout}
        body = training_body(self.registry, self.data, self.artifact_root, input_uri=input_uri,
                             input_format=input_format, params=params or {})
        return self._run("training", snapshot_id, inputs, body, timeout, idempotency_key)

    def run_metrics(self, snapshot_id: str, *, input_uri: str | None = None,
                    input_format: str | None = None, timeout: float = 0,
                    idempotency_key: str | None = None,
                    runtime: str | None = None) -> JobRecord:
        """Test on labelled data (``input_uri`` or the TEST_DATA asset), on ``runtime``'s
        engine; metrics go on the job and become the snapshot's test results."""
        executor, named = self.executor_for(runtime)
        inputs = {"input": input_uri, "input_format": input_format, "timeout": timeout,
                  **named}
        body = metrics_body(self.registry, self.data, executor, input_uri=input_uri,
                            input_format=input_format)
        return self._run("metrics", snapshot_id, inputs, body, timeout, idempotency_key)

    def score(self, snapshot_id: str, source: str, destination: str,
              options: ScoringOptions = ScoringOptions(), *,
              idempotency_key: str | None = None,
              progress: ProgressCallback | None = None,
              runtime: str | None = None,
              artifact_id: str | None = None) -> JobRecord:
        """Batch-score every file of ``source`` into ``destination`` (see :mod:`.scoring`) on
        ``runtime``'s engine, with the uploaded artifact ``artifact_id`` (a deployment's)
        instead of the snapshot's own when one is named."""
        executor, named = self.executor_for(runtime)
        inputs = {"source": source, "destination": destination, **options.to_dict(), **named}
        if artifact_id:
            inputs["artifact_id"] = artifact_id
        body = scoring_body(self.data, executor, source=source, destination=destination,
                            options=options, progress=progress)
        return self._run("scoring", snapshot_id, inputs, body, options.job_timeout,
                         idempotency_key, artifact_id)

    def run_model_tests(self, snapshot_id: str, *, timeout: float = 0,
                        idempotency_key: str | None = None) -> JobRecord:
        """Run the snapshot's ``test_model.py`` in the model's environment; the report goes on
        the job (``outputs["report"]``) and on the snapshot (``model_tests``). A run whose
        tests fail, or cannot run, is a failed job."""
        body = model_tests_body(self.registry, self.environments)
        return self._run("tests", snapshot_id, {"timeout": timeout}, body, timeout,
                         idempotency_key)

    def get(self, job_id: str) -> JobRecord:
        return self.store.get(job_id)

    def list(self, **filters: Any) -> Sequence[JobRecord]:
        return self.store.list(**filters)

    def close(self) -> None:
        """End the pool's processes, if it was started; a later job starts a new pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
