"""Batch scoring: every input file is one task, run by ``parallelism`` model processes on this
node, or submitted as one Dask task per file when the job's runtime is a Dask cluster.

Contract (what ``job.scoring``, ``mlc jobs run-scoring`` and the REST layer promise):

- *Source* is one data file or a folder / S3 prefix; every ``.csv``, ``.parquet``/``.pq`` or
  ``.feather``/``.arrow`` file directly inside it is one task (hidden files are skipped). A
  declared ``input_format`` limits a folder to files of that format.
- *Destination* is a folder / S3 prefix that receives one output file per input file with the
  same name; when ``output_format`` differs from the input's, only the extension changes. A
  single input file may instead name an output file directly (a destination with a data
  extension).
- *Existing outputs*: with ``overwrite=False`` (the default) the job refuses to start when any
  output already exists, naming it, so nothing is lost by accident. With ``overwrite=True``
  each existing output is replaced when its file completes; outputs are written to a temporary
  name and renamed (S3: one PUT), so a reader never sees half a file. Outputs of files that
  completed before a failure are kept and listed on the job.
- *Time limits*: ``file_timeout`` bounds one file, ``job_timeout`` the whole job (model loading
  included); 0 means none. A file past its limit kills its process and fails the execution with
  the reason recorded; the other processes (or Dask tasks) are stopped too.
- *Parallelism*: at most ``parallelism`` files are scored at once, on either engine.
- Each process loads the model once (``init``) and then scores its share of files (on Dask:
  once per worker process and job).
- *Progress*: files done, rows and each file's output are written to the job's outputs
  every couple of seconds while it runs.
- *Answers per file*: the job's ``files`` lists every file done with ``status: ok`` and its
  row count, and the file that failed the execution with ``status: error`` and the error
  text (as akerbp.mlops' services answer ``status`` / error per request).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.registry import execution_key
from engine.errors import ValidationError

from ._process import ModelProcessError
from ._run import JobRun
from .formats import FORMATS, format_of, output_name
from .locations import DataStore, LocalLocation, Location

if TYPE_CHECKING:
    from ._executor import JobExecutor

ProgressCallback = Callable[[int, int, int], None]  # files done, files total, rows so far


@dataclass(frozen=True)
class ScoringOptions:
    """How to run a batch scoring job (see the module docstring for the contract)."""

    parallelism: int = 1
    job_timeout: float = 0
    file_timeout: float = 0
    input_format: str | None = None
    output_format: str | None = None
    overwrite: bool = False

    def check(self) -> None:
        if int(self.parallelism) < 1:
            raise ValidationError("parallelism must be at least 1")
        if self.job_timeout < 0 or self.file_timeout < 0:
            raise ValidationError("timeouts are seconds >= 0 (0 means none)")
        for fmt in (self.input_format, self.output_format):
            if fmt is not None and fmt not in FORMATS:
                raise ValidationError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"parallelism": self.parallelism, "job_timeout": self.job_timeout,
                "file_timeout": self.file_timeout, "input_format": self.input_format,
                "output_format": self.output_format, "overwrite": self.overwrite}


@dataclass(frozen=True)
class FileTask:
    input: Location
    input_format: str
    output: Location
    output_format: str


def plan_tasks(data: DataStore, source: Location, destination: Location,
               options: ScoringOptions) -> list[FileTask]:
    """Pair every input file with its output, refusing ambiguous or self-overwriting plans."""
    inputs = data.list_inputs(source)
    if options.input_format and len(inputs) > 1:
        inputs = [i for i in inputs if format_of(i.name) == options.input_format]
    if not inputs:
        raise ValidationError(f"input {source.uri} names no {options.input_format} files")
    single_target = (len(inputs) == 1 and inputs[0] == source
                     and _has_data_extension(destination.name))
    tasks = []
    for item in inputs:
        in_fmt = format_of(item.name, options.input_format)
        out_fmt = options.output_format or (format_of(destination.name) if single_target
                                            else in_fmt)
        target = destination if single_target else destination.child(
            output_name(item.name, out_fmt))
        if target == item:
            raise ValidationError(f"output {target.uri} would overwrite its own input")
        tasks.append(FileTask(item, in_fmt, target, out_fmt))
    seen: dict[Location, Location] = {}
    for task in tasks:
        if task.output in seen:
            raise ValidationError(f"inputs {seen[task.output].uri} and {task.input.uri} would "
                                  f"both write {task.output.uri}")
        seen[task.output] = task.input
    return tasks


def _has_data_extension(name: str) -> bool:
    try:
        format_of(name)
        return True
    except ValidationError:
        return False


def timeout_reason(task: FileTask, options: ScoringOptions, limit: float | None) -> str:
    """Why a file's time ran out (``limit``: what it was given): its own ``file_timeout`` or
    the job's deadline."""
    if limit is None:  # the job's own deadline had already passed
        return f"the job exceeded its job_timeout of {options.job_timeout:g}s"
    if options.file_timeout and limit >= options.file_timeout:
        return f"file {task.input.name} exceeded file_timeout of {options.file_timeout:g}s"
    return (f"the job exceeded its job_timeout of {options.job_timeout:g}s "
            f"(while scoring {task.input.name})")


class FileProgress:
    """What an executor reports as files finish, and the first failure that stops the rest."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.callback = total, callback
        self.files: list[dict[str, Any]] = []
        self.rows = 0
        self.failure: str | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def done(self, task: FileTask, rows: int) -> None:
        with self.lock:
            self.files.append({"input": task.input.uri, "output": task.output.uri, "rows": rows,
                               "status": "ok"})
            self.rows += rows
            done, total, all_rows = len(self.files), self.total, self.rows
        if self.callback:
            self.callback(done, total, all_rows)

    def fail(self, reason: str, run: JobRun, task: FileTask | None = None) -> None:
        with self.lock:
            first = self.failure is None
            if first:
                self.failure = reason
                if task is not None:
                    self.files.append({"input": task.input.uri, "output": task.output.uri,
                                       "rows": 0, "status": "error", "error": reason})
        self.stop.set()
        if first:
            run.stop()  # stop the other files promptly: the execution has failed



def scoring_body(data: DataStore, executor: JobExecutor, *, source: str, destination: str,
                 options: ScoringOptions, progress: ProgressCallback | None = None
                 ) -> Callable[[JobRun], tuple[dict[str, Any], dict[str, Any]]]:
    def body(run: JobRun) -> tuple[dict[str, Any], dict[str, Any]]:
        options.check()
        started = time.monotonic()
        src, dst = data.resolve(source), data.resolve(destination)
        tasks = plan_tasks(data, src, dst, options)
        existing = [t.output.uri for t in tasks if data.exists(t.output)]
        if existing and not options.overwrite:
            more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
            raise ValidationError(f"output already exists: {', '.join(existing[:3])}{more}; "
                                  f"set overwrite to replace existing outputs")
        if isinstance(dst, LocalLocation) and len(tasks) > 1:
            dst.path.mkdir(parents=True, exist_ok=True)
        run.start(execution_key("scoring", run.snapshot.id, run.build, src.uri, dst.uri))
        state = FileProgress(len(tasks), progress)
        if progress:
            progress(0, len(tasks), 0)
        last_report = time.monotonic()

        def report() -> None:  # called by the executor about once a second
            nonlocal last_report
            if time.monotonic() - last_report > 2.0:
                run.store.update_outputs(run.job.id, _outputs(src, dst, state, options,
                                                              existing))
                last_report = time.monotonic()

        executor.score_files(run, data, tasks, options, state, report)
        outputs = _outputs(src, dst, state, options, existing)
        if state.failure:
            run.store.update_outputs(run.job.id, outputs)
            raise ModelProcessError(state.failure)
        seconds = time.monotonic() - started
        metrics = {"files": len(tasks), "rows": state.rows, "seconds": round(seconds, 3),
                   "rows_per_second": round(state.rows / seconds, 1) if seconds else None}
        return outputs, metrics

    return body


def _outputs(src: Location, dst: Location, state: FileProgress, options: ScoringOptions,
             existing: list[str]) -> dict[str, Any]:
    with state.lock:
        files = sorted(state.files, key=lambda f: f["input"])
        done = sum(1 for f in files if f["status"] == "ok")
        return {"source": src.uri, "destination": dst.uri, "files_total": state.total,
                "files_done": done, "rows": state.rows, "files": files,
                "options": options.to_dict(), "overwritten": existing}
