"""Where a job's model code runs: the seam between the job bodies and their engines.

:class:`LocalExecutor` runs model processes from this node's :class:`ProcessPool`;
:class:`~connectors.jobs._dask_executor.DaskExecutor` submits one Dask task per file to a
cluster. The bodies (planning, the redundant-execution guard, outputs, metrics) are shared, so
a job gives the same results on either engine.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import ValidationError

from ._process import ModelProcess, TimeLimitExceeded
from ._run import JobRun
from .formats import read_frame
from .locations import DataStore, Location
from .scoring import FileProgress, FileTask, ScoringOptions, timeout_reason

if TYPE_CHECKING:  # pandas and numpy are imported when a frame is read
    import numpy as np
    import pandas as pd

Report = Callable[[], None]  # flushes progress; executors call it about once a second


class JobExecutor(Protocol):
    """Runs the model-code parts of scoring and metrics jobs."""

    name: str

    def score_files(self, run: JobRun, data: DataStore, tasks: list[FileTask],
                    options: ScoringOptions, progress: FileProgress, report: Report) -> None:
        """Score every task (``options.parallelism`` at once), recording each file on
        ``progress``; the first failure is recorded there and stops the rest."""

    def predict_labelled(self, run: JobRun, data: DataStore, location: Location, fmt: str,
                         label: str) -> tuple[np.ndarray[Any, Any], pd.DataFrame]:
        """``(labels, predictions)`` for labelled test data: the ``label`` column as an
        array and the model's predictions (a DataFrame) on the other columns.

        Raises:
            ValidationError: the data has no ``label`` column.
            ModelProcessError: the model failed or ran past the job's time limit.
        """


class LocalExecutor:
    """Model processes on this node, one thread feeding each."""

    name = "local"

    def score_files(self, run: JobRun, data: DataStore, tasks: list[FileTask],
                    options: ScoringOptions, progress: FileProgress, report: Report) -> None:
        processes = run.loaded_processes(min(int(options.parallelism), len(tasks)),
                                         run.artifact_dir)
        pending: queue.Queue[FileTask] = queue.Queue()
        for task in tasks:
            pending.put(task)
        threads = [threading.Thread(target=_score_files,
                                    args=(p, pending, run, data, options, progress),
                                    daemon=True)
                   for p in processes]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=1.0)
            report()

    def predict_labelled(self, run: JobRun, data: DataStore, location: Location, fmt: str,
                         label: str) -> tuple[np.ndarray[Any, Any], pd.DataFrame]:
        local = data.fetch(location, run.scratch)
        labelled = read_frame(local, fmt)
        if label not in labelled.columns:
            raise ValidationError(f"test data {location.uri} has no label column {label!r}")
        predictions_path = run.scratch / "predictions.parquet"
        (process,) = run.loaded_processes(1, run.artifact_dir)
        process.call({"op": "predict", "input": str(local), "input_format": fmt,
                      "output": str(predictions_path), "output_format": "parquet",
                      "drop": [label]}, run.deadline.limit(), "predicting on the test data")
        return labelled[label].to_numpy(), read_frame(predictions_path, "parquet")


def _score_files(process: ModelProcess, pending: queue.Queue[FileTask], run: JobRun,
                 data: DataStore, options: ScoringOptions, progress: FileProgress) -> None:
    """One process's loop: take the next file until none is left or the execution failed."""
    while not progress.stop.is_set():
        try:
            task = pending.get_nowait()
        except queue.Empty:
            return
        limit: float | None = None
        try:
            limit = run.deadline.limit(options.file_timeout)
            local_in = data.fetch(task.input, run.scratch)
            local_out = data.local_target(task.output, run.scratch)
            answer = process.call(
                {"op": "predict", "input": str(local_in), "input_format": task.input_format,
                 "output": str(local_out), "output_format": task.output_format, "drop": []},
                limit, f"scoring {task.input.name}")
            data.store(local_out, task.output)
            if local_in != getattr(task.input, "path", None):
                local_in.unlink(missing_ok=True)
            progress.done(task, int(answer.get("rows", 0)))
        except TimeLimitExceeded:
            progress.fail(timeout_reason(task, options, limit), run, task)
            return
        except Exception as exc:  # noqa: BLE001 - recorded as the execution's failure
            if not progress.stop.is_set():
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                progress.fail(message, run, task)
            return
