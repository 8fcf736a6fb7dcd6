"""The model subprocess: ``python .../model_side/mlc_runner.py``, started with the Python of
the model's environment (its own virtual environment when it has ``requirements.model``, else
the engine's), so it imports nothing but the standard library, pandas and ``mlc_frames``.

Model code never runs in the engine's process. The parent speaks JSON lines over this
process's stdin and a private copy of its original stdout; fd 1 and 2 are redirected to the
job's log file, so whatever the model prints lands in the log, never in the protocol.

Requests (one per line) and their answers:

- ``{"op": "load", "model_dir", "artifact_dir", "log", "threads"}`` imports ``model.py`` and
  calls its optional ``init(artifact_dir)`` once, so scoring many files loads the model once;
  ``threads`` caps BLAS / Arrow thread pools when several processes share the CPUs. The model
  folder comes first on the import path and the folder above it last, so models of one
  repository share code in a sibling package (``models/common`` imports as ``common``).
- ``{"op": "train", "input", "format", "params", "artifact_dir"}`` calls
  ``train(df, params)`` with the working directory (and ``params["artifact_dir"]``) set to the
  artifact folder; a dict it returns is reported as training metrics.
- ``{"op": "predict", "input", "input_format", "output", "output_format", "drop"}`` reads a
  file, drops the ``drop`` columns (labels), calls ``predict(df)`` and writes the result.
- ``{"op": "predict_records", "records"}`` calls ``predict`` on a frame of JSON records and
  answers ``{"predictions": [...]}`` (online serving of a model with its own environment).

Every answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": "...", "error_type": "...",
"traceback": "..."}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same file, as the type checker finds it from the project's root
    from connectors.jobs.model_side.mlc_frames import (
        as_frame,
        json_records,
        read_frame,
        write_frame,
    )
else:  # run as a script: this folder is on sys.path, the project is not
    from mlc_frames import as_frame, json_records, read_frame, write_frame

OPS = ("load", "train", "predict", "predict_records")

PRELOAD = ("numpy", "pandas", "pyarrow.parquet", "pyarrow.feather", "sklearn.base",
           "sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing",
           "threadpoolctl")


class _Worker:
    def __init__(self) -> None:
        self.model: Any = None

    def load(self, req: dict[str, Any]) -> dict[str, Any]:
        log_path = req.get("log")
        if log_path:
            sys.stdout.flush()
            sys.stderr.flush()
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        if req.get("threads"):
            _limit_threads(int(req["threads"]))
        model_dir = req["model_dir"]
        sys.path.insert(0, model_dir)
        sys.path.append(os.path.dirname(os.path.abspath(model_dir)))  # shared code, last
        spec = importlib.util.spec_from_file_location("mlc_model",
                                                      os.path.join(model_dir, "model.py"))
        if spec is None or spec.loader is None:
            raise ImportError(f"no model.py in {model_dir}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["mlc_model"] = module
        spec.loader.exec_module(module)
        self.model = module
        init = getattr(module, "init", None)
        if callable(init):
            init(req.get("artifact_dir"))
        return {}

    def train(self, req: dict[str, Any]) -> dict[str, Any]:
        frame = read_frame(req["input"], req["format"])
        params = dict(req.get("params") or {})
        artifact_dir = req["artifact_dir"]
        os.makedirs(artifact_dir, exist_ok=True)
        params["artifact_dir"] = artifact_dir
        previous = os.getcwd()
        os.chdir(artifact_dir)
        try:
            result = self.model.train(frame, params)
        finally:
            os.chdir(previous)
        metrics = result if isinstance(result, dict) else {}
        return {"metrics": json.loads(json.dumps(metrics, default=float)), "rows": len(frame)}

    def predict(self, req: dict[str, Any]) -> dict[str, Any]:
        frame = read_frame(req["input"], req["input_format"])
        drop = [c for c in req.get("drop") or () if c in frame.columns]
        if drop:
            frame = frame.drop(columns=drop)
        result = as_frame(self.model.predict(frame), len(frame))
        write_frame(result, req["output"], req["output_format"])
        return {"rows": len(result)}

    def predict_records(self, req: dict[str, Any]) -> dict[str, Any]:
        import pandas as pd

        frame = pd.DataFrame.from_records(list(req["records"]))
        result = as_frame(self.model.predict(frame), len(frame))
        return {"predictions": json_records(result)}


_thread_limits: Any = None  # the threadpoolctl limits in force, kept referenced


def _limit_threads(threads: int) -> None:
    """Cap BLAS/OpenMP and Arrow threads so parallel processes do not oversubscribe the CPUs
    (with two processes on two cores, unbounded thread pools make both slower)."""
    global _thread_limits
    try:
        from threadpoolctl import threadpool_limits

        _thread_limits = threadpool_limits(limits=threads)
    except ImportError:
        pass
    try:
        import pyarrow

        pyarrow.set_cpu_count(threads)
        pyarrow.set_io_thread_count(max(threads, 1))
    except ImportError:
        pass


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # until a job log is assigned, model output goes to the boot log
    for name in PRELOAD:  # warm interpreters are the point of spare processes
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    channel.write(json.dumps({"ok": True, "ready": True, "pid": os.getpid()}) + "\n")
    worker = _Worker()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}")
            if op != "load" and worker.model is None:
                raise RuntimeError("no model loaded")
            answer = {"ok": True, **getattr(worker, op)(req)}
        except BaseException as exc:  # noqa: BLE001 - report, never die silently
            tb = traceback.format_exc()
            print(tb, file=sys.stderr, flush=True)
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                      "error_type": type(exc).__name__, "traceback": tb}
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                channel.write(json.dumps(answer) + "\n")
                return 1
        sys.stdout.flush()
        sys.stderr.flush()
        channel.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
