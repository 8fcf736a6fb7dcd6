"""Jobs on a ``dask`` runtime: one Dask task per input file, submitted from the engine.

The engine keeps what makes a job a job: planning the files, the redundant-execution guard,
the job's time limit, progress and the recorded outcome. The cluster only runs
:mod:`connectors.jobs.dask_tasks` functions with plain dict specs that name the snapshot's
source, so model code is fetched on the workers, never pickled here.

- *Parallelism*: at most ``parallelism`` files are submitted at once; the next file goes out
  as one finishes.
- *Per-file timeout*: enforced on the worker, which kills the file's model process.
- *Job timeout, failure, cancel*: the job's futures are cancelled and every worker kills the
  job's model processes (:func:`~connectors.jobs.dask_tasks.cancel_job`).
- *A worker that dies*: the scheduler runs its files again elsewhere (outputs are written to
  a temporary name and renamed, so a file scored twice is written whole once more); after
  Dask's ``allowed-failures`` deaths for one file the job fails with ``KilledWorker``.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from connectors.packages import read_requirements
from engine.errors import ConfigurationError

from . import dask_tasks
from ._process import ModelProcessError, TimeLimitExceeded
from ._run import JobRun
from .locations import DataStore, Location
from .scoring import FileProgress, FileTask, ScoringOptions, timeout_reason

log = logging.getLogger(__name__)

CONNECT_SECONDS = 30.0  # generous: a loaded host can take seconds to answer
TICK_SECONDS = 1.0


class ClusterUnavailable(ModelProcessError):
    """The runtime's Dask scheduler cannot be reached, or has no workers."""

    code = "cluster_unavailable"


class _ClusterJob:
    """One job's connection to the cluster: its client, its futures and how to stop them."""

    def __init__(self, scheduler: str, run: JobRun, data: DataStore,
                 connect_timeout: float) -> None:
        from distributed import Client

        try:
            self.client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler {scheduler}: "
                                     f"{exc}") from None
        try:
            self.client.wait_for_workers(1, timeout=connect_timeout)
            workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        except (OSError, TimeoutError) as exc:
            self.client.close()
            raise ClusterUnavailable(f"the Dask cluster at {scheduler} has no workers "
                                     f"({exc or 'none joined in time'})") from None
        host_threads: dict[str, int] = collections.Counter()
        for worker in workers:
            host_threads[worker["host"]] += int(worker["nthreads"])
        self.run, self.scheduler = run, scheduler
        self.base = {"job_id": run.job.id, "source": run.snapshot.source,
                     "artifact_dir": run.artifact_dir, "data_roots": list(data.data_roots),
                     "s3_endpoint_url": data.s3_endpoint_url, "host_threads": host_threads}
        self.running: dict[Any, Any] = {}  # future -> what it works on
        self.stopped = False
        self._done: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._count = 0
        run.on_stop(self.stop)

    def submit(self, fn: Callable[[dict[str, Any]], dict[str, Any]], spec: dict[str, Any],
               item: Any) -> bool:
        """Submit one task; False once the job has been stopped."""
        with self._lock:
            if self.stopped:
                return False
            self._count += 1
            key = f"mlc-{self.run.job.job_type}-{self.run.job.id}-{self._count}"
            future = self.client.submit(fn, {**self.base, **spec}, key=key, pure=False)
            self.running[future] = item
        future.add_done_callback(self._done.put)
        return True

    def next_done(self, timeout: float) -> tuple[Any, Any] | None:
        """The next finished (or failed, cancelled or lost) future and its item, or None."""
        try:
            future = self._done.get(timeout=timeout)
        except queue.Empty:
            if self.client.status in ("closing", "closed"):  # gave up reconnecting
                raise ClusterUnavailable(f"lost the connection to the Dask scheduler "
                                         f"{self.scheduler}") from None
            with self._lock:  # a scheduler that restarted loses futures without a callback
                future = next((f for f in self.running if f.status == "lost"), None)
            if future is None:
                return None
        with self._lock:
            return future, self.running.pop(future, None)

    def stop(self) -> None:
        """Cancel the job's futures and kill its model processes on every worker."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
            futures = list(self.running)

        def cancel() -> None:
            if futures:
                self.client.cancel(futures, force=True)
            self.client.run(dask_tasks.cancel_job, self.run.job.id, on_error="ignore")

        _bounded(cancel)

    def close(self) -> None:
        if self.running:
            self.stop()
        _bounded(lambda: self.client.run(dask_tasks.release_job, self.run.job.id,
                                         on_error="ignore"))
        self.client.close()

    def __enter__(self) -> _ClusterJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bounded(call: Callable[[], object], seconds: float = CONNECT_SECONDS) -> None:
    """Run a cluster call for at most ``seconds``: a job must end even when the scheduler has
    gone away (the workers' reaper then closes what the call could not reach)."""
    def guarded() -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - best effort, see above
            log.warning("a Dask cluster call failed", exc_info=True)

    thread = threading.Thread(target=guarded, daemon=True, name="mlc-dask-call")
    thread.start()
    thread.join(seconds)


def _answer(future: Any) -> dict[str, Any]:
    """A task's answer dict, or one describing how Dask failed it."""
    if future.status == "finished":
        answer: dict[str, Any] = future.result()  # what the dask_tasks function returned
        return answer
    if future.status == "cancelled":
        return {"ok": False, "cancelled": True, "error": "the Dask task was cancelled"}
    if future.status == "lost":
        return {"ok": False, "error": "the Dask scheduler lost the task (did it restart?)"}
    exc = future.exception()
    if type(exc).__name__ == "KilledWorker":
        return {"ok": False, "error": f"the Dask workers running it kept dying ({exc})"}
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


class DaskExecutor:
    """Runs a job's model code on the Dask cluster at ``scheduler``."""

    name = "dask"

    def __init__(self, scheduler: str, *, connect_timeout: float | None = None) -> None:
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout or CONNECT_SECONDS

    def _connect(self, run: JobRun, data: DataStore) -> _ClusterJob:
        if read_requirements(run.model_dir()) is not None:
            # Dask workers start models with their own Python: a model with its own
            # environment would silently run with the wrong packages there.
            raise ConfigurationError(
                f"model {run.model.name} has a requirements.model, and Dask workers do not "
                f"build model environments yet: run it on a local runtime")
        return _ClusterJob(self.scheduler, run, data, self.connect_timeout)

    def score_files(self, run: JobRun, data: DataStore, tasks: list[FileTask],
                    options: ScoringOptions, progress: FileProgress,
                    report: Callable[[], None]) -> None:
        with self._connect(run, data) as cluster:
            pending = collections.deque(tasks)
            while not progress.stop.is_set() and (pending or cluster.running):
                while pending and len(cluster.running) < int(options.parallelism):
                    task = pending.popleft()
                    spec = {"input": task.input.uri, "input_format": task.input_format,
                            "output": task.output.uri, "output_format": task.output_format,
                            "file_timeout": options.file_timeout}
                    if not cluster.submit(dask_tasks.score_file, spec, task):
                        break
                finished = cluster.next_done(TICK_SECONDS)
                if finished is not None and finished[1] is not None:
                    self._file_finished(run, options, progress, *finished)
                if cluster.stopped and not progress.stop.is_set():
                    progress.fail("the job was stopped", run)
                self._check_deadline(run, progress, cluster)
                report()

    @staticmethod
    def _file_finished(run: JobRun, options: ScoringOptions, progress: FileProgress,
                       future: Any, task: FileTask) -> None:
        answer = _answer(future)
        _append_log(run, task.input.name, answer)
        if answer.get("ok"):
            progress.done(task, int(answer.get("rows", 0)))
        elif progress.stop.is_set():
            return  # stopped by an earlier failure: that one is the reason
        elif answer.get("timeout"):
            progress.fail(timeout_reason(task, options, options.file_timeout), run, task)
        else:
            progress.fail(f"scoring {task.input.name}: {answer.get('error')}", run, task)

    @staticmethod
    def _check_deadline(run: JobRun, progress: FileProgress, cluster: _ClusterJob) -> None:
        try:
            run.deadline.remaining()
        except TimeLimitExceeded as exc:
            names = sorted(t.input.name for t in cluster.running.values() if t is not None)
            while_scoring = f" (while scoring {', '.join(names[:3])})" if names else ""
            progress.fail(exc.message + while_scoring, run)

    def predict_labelled(self, run: JobRun, data: DataStore, location: Location, fmt: str,
                         label: str) -> tuple[Any, Any]:
        from engine.errors import ValidationError

        with self._connect(run, data) as cluster:
            cluster.submit(dask_tasks.predict_labelled,
                           {"input": location.uri, "input_format": fmt, "label": label},
                           location)
            finished = None
            while finished is None:
                finished = cluster.next_done(TICK_SECONDS)
                if finished is None:
                    run.deadline.remaining()  # past the job's limit: raises, and exiting stops
            answer = _answer(finished[0])
        _append_log(run, location.name, answer)
        if answer.get("ok"):
            return answer["labels"], answer["predictions"]
        if answer.get("invalid"):
            raise ValidationError(answer["error"])
        raise ModelProcessError(f"predicting on the test data: {answer.get('error')}")


def _append_log(run: JobRun, name: str, answer: dict[str, Any]) -> None:
    """Add what the model printed on the worker to the job's log."""
    text = answer.get("log") or ""
    if text:
        with open(run.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {name} on {answer.get('worker', 'a Dask worker')} ---\n{text}")
            if not text.endswith("\n"):
                fh.write("\n")
