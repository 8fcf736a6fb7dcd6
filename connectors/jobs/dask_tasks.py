"""What runs on a Dask worker for a job on a ``dask`` runtime: one task per input file.

The engine submits these module-level functions with plain dict specs. cloudpickle sends a
module-level function by reference (module and name), so the project must be installed on
every worker, and the model's code is fetched *on the worker* from the snapshot's source (a
folder, ``sample:NAME`` or a git URL, as :func:`resolve_model_dir` reads it), never shipped
from the engine as a pickled closure. The model runs in a ``connectors.jobs.runner``
subprocess exactly as on the local pool, so its results are the same, the per-file timeout
can kill it, and the worker survives whatever the model does.

A worker process keeps each job's loaded model processes between that job's files, so a model
loads once per worker process and job. Started with ``--preload connectors.jobs.dask_tasks``,
a worker also keeps one warm interpreter per thread (pandas, pyarrow and scikit-learn already
imported), so a job pays for loading its model, not for starting Python. The engine releases them when the job ends
(:func:`release_job`), kills them when it is cancelled or fails (:func:`cancel_job`), and a
reaper closes any left idle (an engine that died mid-job) after :data:`IDLE_SECONDS`.

Tasks answer with a dict, never an exception, so the engine can tell a timeout, a model error
and a cancel apart: ``{"ok": True, ...}`` or ``{"ok": False, "error", "timeout"?,
"cancelled"?, "invalid"?}``, each with the ``log`` the model wrote meanwhile and the
``worker`` address.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import MlcError

from ._process import ModelProcess, ProcessPool, TimeLimitExceeded
from .formats import read_frame
from .locations import DataStore, LocalLocation
from .model_code import resolve_model_dir

IDLE_SECONDS = 120.0
LOG_CHARS = 8000
_REMEMBERED_CANCELS = 10_000


class _Cancelled(Exception):
    """The job was cancelled on this worker: start no model process for it."""


@dataclass(eq=False)
class _Loaded:
    """A model process with the job's model loaded, and its private log."""

    process: ModelProcess
    log: Path
    offset: int = 0
    idle_since: float = 0.0

    def new_log(self) -> str:
        """What the model wrote since the last call (the last :data:`LOG_CHARS`)."""
        try:
            with open(self.log, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return ""
        self.offset += len(data)
        return data[-LOG_CHARS:].decode("utf-8", "replace")


class _WorkerModels:
    """The loaded model processes of this worker process, by job."""

    def __init__(self) -> None:
        self.pool = ProcessPool(spares=0)
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Loaded]] = {}
        self._busy: dict[str, list[_Loaded]] = {}
        self._folders: dict[str, Path] = {}
        self._ending: set[str] = set()  # released while a file was still running
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._reaper: threading.Thread | None = None

    def checkout(self, spec: dict[str, Any]) -> _Loaded:
        """An idle process of the job, or a new one with the model loaded.

        Raises:
            _Cancelled: the job was cancelled here.
            MlcError: the source or artifact folder cannot be used on this worker, or the
                model failed to load.
        """
        job = spec["job_id"]
        with self._lock:
            if job in self._cancelled:
                raise _Cancelled()
            idle = self._idle.get(job)
            if idle:
                loaded = idle.pop()
                self._busy.setdefault(job, []).append(loaded)
                return loaded
            folder = self._folders.get(job)
            if folder is None:
                folder = self._folders[job] = Path(
                    tempfile.mkdtemp(prefix=f"mlc-dask-{job[:8]}-"))
            self._start_reaper()
        model_dir = resolve_model_dir(spec["source"])
        artifact_dir = spec.get("artifact_dir")
        if artifact_dir and not os.path.isdir(artifact_dir):
            raise MlcError(f"artifact folder {artifact_dir} is not visible on Dask worker "
                           f"{_worker_address()} (mount the data roots at the same paths on "
                           f"every worker)")
        [process] = self.pool.acquire(1)
        loaded = _Loaded(process, folder / f"model-{process.pid}.log")
        loaded.log.touch()
        with self._lock:
            cancelled = job in self._cancelled
            if not cancelled:
                self._busy.setdefault(job, []).append(loaded)
        if cancelled:
            self.pool.release([process])
            raise _Cancelled()
        try:
            process.call({"op": "load", "model_dir": str(model_dir),
                          "artifact_dir": artifact_dir, "log": str(loaded.log),
                          "threads": _model_threads(spec.get("host_threads") or {})},
                         None, "loading the model")
        except BaseException:
            self.checkin(job, loaded, healthy=False)
            raise
        return loaded

    def checkin(self, job: str, loaded: _Loaded, *, healthy: bool) -> None:
        """Hand a process back: kept for the job's next file, or ended."""
        folder = None
        with self._lock:
            busy = self._busy.get(job, [])
            if loaded in busy:
                busy.remove(loaded)
            keep = (healthy and job not in self._cancelled and job not in self._ending
                    and job in self._folders)
            if keep:
                loaded.idle_since = time.monotonic()
                self._idle.setdefault(job, []).append(loaded)
            elif job in self._ending and not busy:
                self._ending.discard(job)
                folder = self._folders.pop(job, None)
        if not keep:
            self.pool.release([loaded.process])
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def cancel(self, job: str) -> int:
        """Kill every process of ``job`` (running ones too) and start no new one."""
        with self._lock:
            self._cancelled[job] = None
            while len(self._cancelled) > _REMEMBERED_CANCELS:
                self._cancelled.popitem(last=False)
            victims = self._idle.pop(job, []) + list(self._busy.get(job, []))
        for loaded in victims:
            loaded.process.kill()
        return len(victims)

    def release(self, job: str) -> int:
        """The job has ended: close its idle processes and remove its logs."""
        with self._lock:
            idle = self._idle.pop(job, [])
            folder = None
            if self._busy.get(job):
                self._ending.add(job)  # the last file to finish removes the folder
            else:
                folder = self._folders.pop(job, None)
        self.pool.release([loaded.process for loaded in idle])
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return len(idle)

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name="mlc-model-reaper",
                                            daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while True:
            time.sleep(IDLE_SECONDS / 4)
            now = time.monotonic()
            with self._lock:
                stale = [job for job, idle in self._idle.items()
                         if idle and all(now - lo.idle_since > IDLE_SECONDS for lo in idle)]
            for job in stale:
                self.release(job)


MODELS = _WorkerModels()
_STORES: dict[tuple[tuple[str, ...], str | None], DataStore] = {}


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "(not a Dask worker)"


def _model_threads(host_threads: dict[str, int]) -> int | None:
    """Cap a model process's BLAS / Arrow threads by the Dask threads sharing this host, as
    the local pool caps them by its parallelism (None: one thread on the host, no cap)."""
    host = _worker_address().split("://", 1)[-1].rsplit(":", 1)[0]
    sharing = int(host_threads.get(host, 1))
    return max(1, (os.cpu_count() or 1) // sharing) if sharing > 1 else None


def _data_store(spec: dict[str, Any]) -> DataStore:
    """The worker's view of the job's data: the engine's data roots (checked again here) and
    its S3 endpoint; credentials come from the worker's own environment."""
    key = (tuple(spec["data_roots"]), spec.get("s3_endpoint_url"))
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = DataStore(list(key[0]), s3_endpoint_url=key[1])
    return store


def _visible(location: Any) -> None:
    if isinstance(location, LocalLocation) and not location.path.exists():
        raise MlcError(f"input {location.uri} is not visible on Dask worker "
                       f"{_worker_address()} (mount the data roots at the same paths on every "
                       f"worker)")


class _Task:
    """One task's scratch folder and, once asked for, the job's model process on this worker;
    :func:`_answered` always hands both back."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.data = _data_store(spec)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"mlc-dask-{spec['job_id'][:8]}-task-"))
        self.loaded: _Loaded | None = None
        self.healthy = False

    def model(self) -> ModelProcess:
        self.loaded = MODELS.checkout(self.spec)
        return self.loaded.process

    def answer(self, ok: bool, **fields: Any) -> dict[str, Any]:
        self.healthy = ok
        return {"ok": ok, "log": self.loaded.new_log() if self.loaded else "",
                "worker": _worker_address(), **fields}

    def close(self) -> None:
        if self.loaded is not None:
            MODELS.checkin(self.spec["job_id"], self.loaded, healthy=self.healthy)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _answered(spec: dict[str, Any], work: Callable[[_Task], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` and turn whatever it raises into an answer the engine can tell apart."""
    task: _Task | None = None
    try:
        task = _Task(spec)
        return work(task)
    except _Cancelled:
        return _failed(task, "cancelled", cancelled=True)
    except TimeLimitExceeded as exc:
        return _failed(task, exc.message, timeout=True)
    except Exception as exc:  # noqa: BLE001 - answered, so the engine records the reason
        return _failed(task, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")
    finally:
        if task is not None:
            task.close()


def _failed(task: _Task | None, error: str, **flags: Any) -> dict[str, Any]:
    if task is None:
        return {"ok": False, "error": error, "log": "", "worker": _worker_address(), **flags}
    return task.answer(False, error=error, **flags)


def score_file(spec: dict[str, Any]) -> dict[str, Any]:
    """Score one input file into its output with the job's model.

    ``spec``: ``job_id``, ``source``, ``artifact_dir``, ``data_roots``, ``s3_endpoint_url``,
    ``host_threads``, ``input``, ``input_format``, ``output``, ``output_format`` and
    ``file_timeout`` (seconds; 0 = none). Answers ``{"ok": True, "rows", "log", "worker"}``.
    """
    def work(task: _Task) -> dict[str, Any]:
        source, target = task.data.resolve(spec["input"]), task.data.resolve(spec["output"])
        _visible(source)
        process = task.model()
        local_in = task.data.fetch(source, task.scratch)
        local_out = task.data.local_target(target, task.scratch)
        answer = process.call(
            {"op": "predict", "input": str(local_in), "input_format": spec["input_format"],
             "output": str(local_out), "output_format": spec["output_format"], "drop": []},
            spec.get("file_timeout") or None, f"scoring {source.name}")
        task.data.store(local_out, target)
        return task.answer(True, rows=int(answer.get("rows", 0)))

    return _answered(spec, work)


def predict_labelled(spec: dict[str, Any]) -> dict[str, Any]:
    """Predict on labelled test data (the ``label`` column dropped) for a metrics job.

    ``spec``: as :func:`score_file` without outputs, plus ``label``. Answers ``{"ok": True,
    "labels": ndarray, "predictions": DataFrame, "log", "worker"}``, or ``"invalid"`` when the
    data has no label column; the engine computes the metrics, so they are the same whichever
    engine predicted.
    """
    def work(task: _Task) -> dict[str, Any]:
        source = task.data.resolve(spec["input"])
        _visible(source)
        local = task.data.fetch(source, task.scratch)
        labelled = read_frame(local, spec["input_format"])
        label = spec["label"]
        if label not in labelled.columns:
            return task.answer(False, invalid=True,
                               error=f"test data {source.uri} has no label column {label!r}")
        predictions = task.scratch / "predictions.parquet"
        task.model().call({"op": "predict", "input": str(local),
                           "input_format": spec["input_format"], "output": str(predictions),
                           "output_format": "parquet", "drop": [label]},
                          None, "predicting on the test data")
        return task.answer(True, labels=labelled[label].to_numpy(),
                           predictions=read_frame(predictions, "parquet"))

    return _answered(spec, work)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook (``dask worker ... --preload connectors.jobs.dask_tasks``): keep one
    warm model interpreter per worker thread."""
    MODELS.pool.keep_spares(int(worker.state.nthreads))


def cancel_job(job_id: str) -> int:
    """Run on every worker (``Client.run``) when a job is cancelled, fails or times out."""
    return MODELS.cancel(job_id)


def release_job(job_id: str) -> int:
    """Run on every worker when a job ends: its idle model processes are closed."""
    return MODELS.release(job_id)
