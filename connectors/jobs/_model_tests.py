"""The body of a ``tests`` job: the snapshot's ``test_model.py`` under pytest, in the model's
environment (run inside :func:`~connectors.jobs._run.run_job`, so it has a job row, a log
with the environment's build and pytest's output, a lease and a time limit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.packages import ModelEnvironments, ModelTestsFailed, run_model_tests
from connectors.packages.model_tests import DEFAULT_TIMEOUT
from connectors.registry import ModelRegistry, execution_key

from ._run import JobRun


def model_tests_body(registry: ModelRegistry,
                     environments: ModelEnvironments) -> Callable[[JobRun], tuple[dict[str, Any], dict[str, Any]]]:
    def body(run: JobRun) -> tuple[dict[str, Any], dict[str, Any]]:
        model_dir = run.model_dir()
        run.start(execution_key("tests", run.snapshot.id, run.build, str(model_dir), ""))
        limit = run.deadline.limit() or DEFAULT_TIMEOUT
        report = run_model_tests(model_dir, environments, timeout=limit, log=run.log_line)
        stored = report.to_dict()
        registry.record_model_tests(run.snapshot.id, {**stored, "job_id": run.job.id})
        outputs = {"report": stored, "model_dir": str(model_dir)}
        if not report.ok:
            run.store.update_outputs(run.job.id, outputs)
            raise ModelTestsFailed(f"model tests {report.status}: {report.summary()}")
        counts = {"passed": report.passed, "failed": report.failed, "errors": report.errors,
                  "skipped": report.skipped, "duration": report.duration}
        return outputs, counts

    return body
